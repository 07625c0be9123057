"""The portal exchange (ЕПГУ/РПГУ e-diary, SPEC §6) and delivery by the family's agreed channel.

- `schema/diary-message.v1.json` — the versioned message format; `schema.py` validates against it.
- `payloads.py` — what each kind of message says, built from the journal's rows.
- `capture.py` — the outbox: family-visible changes queue messages in the same transaction.
- `transport.py` — the one adapter to the portal (HTTP, HMAC-SHA256 signed batches, receipts).
- `sender.py` — the job: claims due messages (SKIP LOCKED), sends, applies receipts, retries.
- `sla.py` — the 24-hour rule for final grades and exam results.
- `delivery.py` — notifications by channel: portal through the outbox, e-mail through SMTP.
- `simulator.py` — a portal stand-in (real HTTP server) for tests, the demo and the benchmark.
"""
