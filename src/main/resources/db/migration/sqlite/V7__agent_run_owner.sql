-- Which gateway runs each agent run, and when it last said it was alive. On a PostgreSQL store shared by several
-- gateways, a restarting gateway may only mark interrupted the runs of gateways that stopped heart-beating, never
-- the live runs of its peers. Rows from before this column have no owner and count as orphans.
ALTER TABLE agent_runs ADD COLUMN owner TEXT;
ALTER TABLE agent_runs ADD COLUMN heartbeat_at INTEGER;
