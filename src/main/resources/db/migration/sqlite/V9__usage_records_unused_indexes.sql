-- Issue 13. Nothing reads usage records by team or by user: spend is read from the daily rollups (spend_daily), and
-- the records themselves only by request id and newest first. The two indexes only made every record's insert
-- dearer (the largest part of a call's metering under load), so they go.
DROP INDEX ix_usage_records_team_at;
DROP INDEX ix_usage_records_user_at;
