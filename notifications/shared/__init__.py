"""The public-schema part of notifications: which agencies have a webhook delivery due, and when.

Everything else of notifications lives in each agency's schema (a tenant app); this one small
table is shared so the sweep that runs every minute can find the agencies with work due in one
query, without a query per agency per minute.
"""
