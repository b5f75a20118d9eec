"""What flows tells the apps above it, so that it imports none of them.

reports connects its recording in ReportsConfig.ready(); flows never imports reports.
"""

from django.dispatch import Signal

# An execution has ended (completed or failed). Arguments: `execution`, and `first` (True in the
# transaction that ends it, which runs once per execution; False when the outcomes of requests
# sent without waiting are written later). Sent inside that transaction: a receiver's writes
# commit with the execution's end, and a receiver that raises rolls the end back.
execution_finished = Signal(use_caching=True)  # like the model signals: receivers looked up once per sender
