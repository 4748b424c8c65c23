"""The domain services: plain functions taking a session and the acting agent.

No Textual here. Every function that changes something runs inside the caller's
``write_session`` (one transaction) and writes the audit log.

The modules import one way, lowest first; a module imports only from the rows below its
own (``a | b`` on one row: siblings that do not import each other). import-linter checks
this order (contract ``services-order`` in ``pyproject.toml``).

1. ``errors | readmodels | filters`` — what a service refuses with; the read models
   several services and screens share (agent, ticket row and page, customer hit; free of
   SQLAlchemy for the lean start); the inbox's filter vocabulary.
1b. ``corerows`` — the rows incoming mail touches (system agent, policy, counter, ticket,
   events, audit row, customer addresses, ``mail_*``) in SQLAlchemy Core, without the ORM:
   the one implementation that the services above and ``deskapp mail receive`` share.
2. ``audit | counters | versioning | registry | contacts | db_roles | mailbox | mail_config`` —
   the audit log, number counters, the one version-checked update (``versioning.bump``), the
   order registry client, customers' contact addresses, PostgreSQL login roles of agents, the
   IMAP mailbox ``mail fetch`` collects from, the SMTP settings and the desk's mail domain
   (for Message-IDs fixed at queueing).
3. ``agents | customers | settings_store | ticket_search`` — who acts (and their logins,
   and who is an active admin); customers and the row lock on a customer's money
   (``customers.lock_customer``); stored policy; the ``/`` line compiled to SQL (trigram
   search, typo repair, fields, regex).
4. ``tickets | journal | absences | agent_admin | policy_admin`` — the inbox and triage
   (including closing a ticket a decision settled, ``tickets.resolve_with_note``); customer
   file and message log; absences; adding, re-roling and deactivating agents; changing
   policy settings.
5. ``budget | orders | conversation | views`` — hour budgets and tasks; orders against the credit
   limit (both open or close tickets and write the journal); a ticket's conversation (its
   stored mail in and out, threading look-ups, reopening by mail, the page-wise reader);
   agents' saved views with their live counts.
6. ``extensions | reminders | radar | mail | shop | customer_import | ticket_intake | replies`` —
   extension requests (on budgets and tickets), budget reminders, the expiry radar,
   outgoing mail, shop bookings of hour packages, the billing system's customer import,
   tickets opened by hand, replies from the ticket (composer content, drafts, sending) and
   linking a customer to a ticket from an unknown sender.
7. ``ticket_detail | card | mail_in`` — composers: the open ticket with the order or request it
   carries; the customer card; an incoming message (parse, thread, open or reopen a
   ticket, record a bounce), above outgoing mail so that a bounce can mark the outbox.

Every result type lives beside the service that returns it; only the shared ones are in
``readmodels``.
"""
