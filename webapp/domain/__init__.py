"""Rules with no Flask in them: ids, statuses, the API's schemas and JSON shapes."""
