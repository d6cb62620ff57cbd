"""moto's server, as the local stack runs it: moto's own, with one fix to its SQS.

moto (5.2.1 to 5.2.5, the newest) deletes a message by building a new list of the queue's
messages and assigning it, outside the lock under which a send appends: a message sent while
a delete is under way is left out of the new list, though SendMessage answered with its id.
SQS never loses a message it accepted; the local stack lost 4 of 6,000 webhook deliveries
this way under load. Here a delete holds the queue's lock.
"""

import sys

from moto.server import main
from moto.sqs.models import Queue

_delete_unlocked = Queue.delete_message


def _delete_locked(self, receipt_handle):
    with self._messages_lock:
        _delete_unlocked(self, receipt_handle)


Queue.delete_message = _delete_locked

if __name__ == "__main__":
    sys.exit(main())
