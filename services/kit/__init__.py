"""The shared service kit: everything every service needs, written once.

settings · logging · errors · grpc server bootstrap · database + unit of work · migrations ·
outbox + relay · consumer + inbox · streams · sealed secrets · dev stack · test helpers.
"""
