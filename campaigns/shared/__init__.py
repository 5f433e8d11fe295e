"""The public-schema part of campaigns: when each agency's budget pass is next due.

Everything else of campaigns lives in each agency's schema (a tenant app); this one small table
is shared so the dispatcher that runs every minute finds the agencies with something due in one
query, instead of a pass per agency per minute.
"""
