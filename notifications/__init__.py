"""Telling the agency's systems what the service decided: events, signed webhooks, delivery.

- `events`: the only writer of events, in the transaction of their cause, in commit order;
  `thresholds` says which alert thresholds a spend crossed (pure).
- `delivery`: sending an endpoint's due deliveries; `sender`, `pinned` and `ssrf` make one
  attempt to a checked address; `signing` signs it (Standard Webhooks); `retry` says when next.
- `wakeups` and `tasks`: the task sent on commit, and the minute's sweep that sends whatever is
  due when that task was lost.
- `services`, `selectors` and `api`: webhook endpoints and the events API; `receiver`, a local
  receiver for developers; `vault` keeps endpoint secrets sealed at rest.
"""
