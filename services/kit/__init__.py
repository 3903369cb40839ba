"""The shared service kit: what every service runs on, written once. It imports no service.

settings · logging · errors · grpc server bootstrap · database + unit of work · migrations ·
outbox + relay · consumer + inbox · streams · rate limits · backoff · clock · sealed secrets · validation.
Test tooling lives in testing/ and the dev stack in tools/, both outside the image.
"""
