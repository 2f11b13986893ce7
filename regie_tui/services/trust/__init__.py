"""Trust: who the agent is (identity), what each role may do (access), the agents
themselves, and the audit trail every change writes."""
