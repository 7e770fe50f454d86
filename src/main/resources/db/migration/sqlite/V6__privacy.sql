-- What the privacy router did with each request, and the classes of data it found (never the values).
ALTER TABLE usage_records ADD COLUMN privacy_decision TEXT;
ALTER TABLE usage_records ADD COLUMN privacy_classes TEXT;
