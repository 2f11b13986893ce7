"""The bannette (inbox): the pending portal submissions, listed and filtered (``listing``),
each shown as the agent decides it (``item``), accepted or refused (``decisions``), with
the refusal reasons kept as templates (``templates``)."""
