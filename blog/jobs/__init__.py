"""Background jobs: a transactional outbox in the blog's database, run by a huey worker.

A request records a job in the same transaction as the change that causes it (outbox.py); after
the commit huey is told to run it (queue.py; huey's own side, its storage and tasks, is tasks.py,
built by the first process that queues a job), and a periodic sweep finds any job whose nudge
was lost. The worker (worker.py, `flask --app wsgi worker`) claims each job, runs the handler its
kind registered (registry.py), and retries failures with backoff (runner.py); a job that keeps
failing is kept, with its error, for the back office.
"""
