-- A spendsync database as schema version 1 wrote it (before events_kind).
-- Kept as SQL so the fixture is reviewable; the migration test loads it.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY, command TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,
  actor TEXT NOT NULL, exit_code INTEGER, summary TEXT NOT NULL DEFAULT '{}');
CREATE TABLE persons (
  employee_number TEXT PRIMARY KEY, source TEXT NOT NULL,
  first_name TEXT NOT NULL, prefix TEXT NOT NULL, last_name TEXT NOT NULL,
  partner_prefix TEXT NOT NULL, partner_last_name TEXT NOT NULL, naming_convention TEXT NOT NULL,
  gender TEXT NOT NULL, email TEXT NOT NULL, username TEXT NOT NULL,
  blocked INTEGER NOT NULL DEFAULT 0, block_reason TEXT NOT NULL DEFAULT '',
  left_at TEXT, updated TEXT NOT NULL);
CREATE TABLE contracts (
  employee_number TEXT NOT NULL, key TEXT NOT NULL, contract_id TEXT NOT NULL,
  start_date TEXT NOT NULL, end_date TEXT NOT NULL, ou_code TEXT NOT NULL, ou_name TEXT NOT NULL,
  function_code TEXT NOT NULL, function_name TEXT NOT NULL,
  PRIMARY KEY (employee_number, key));
CREATE TABLE events (
  id INTEGER PRIMARY KEY, time TEXT NOT NULL, run_id INTEGER, actor TEXT NOT NULL,
  source TEXT NOT NULL, kind TEXT NOT NULL, employee_number TEXT NOT NULL, details TEXT NOT NULL);
CREATE INDEX events_employee ON events (employee_number, id);
CREATE TABLE rejects (
  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, time TEXT NOT NULL, source TEXT NOT NULL,
  file TEXT NOT NULL, line INTEGER NOT NULL, col TEXT NOT NULL, reason TEXT NOT NULL,
  raw TEXT NOT NULL, employee_number TEXT NOT NULL);
CREATE INDEX rejects_run ON rejects (run_id);
CREATE TABLE exports (
  id TEXT PRIMARY KEY, run_id INTEGER, time TEXT NOT NULL, date TEXT NOT NULL, origin TEXT NOT NULL,
  persons INTEGER NOT NULL, roles INTEGER NOT NULL, held INTEGER NOT NULL, manifest TEXT NOT NULL);
CREATE TABLE exported_persons (employee_number TEXT PRIMARY KEY, row TEXT NOT NULL);
CREATE TABLE exported_roles (employee_number TEXT NOT NULL, row TEXT NOT NULL);
CREATE INDEX exported_roles_employee ON exported_roles (employee_number);
CREATE TABLE deliveries (
  id INTEGER PRIMARY KEY, run_id INTEGER, time TEXT NOT NULL, export_id TEXT NOT NULL, target TEXT NOT NULL,
  ok INTEGER NOT NULL, details TEXT NOT NULL);
CREATE INDEX deliveries_target ON deliveries (target, ok, id);
INSERT INTO meta (key, value) VALUES ('schema_version', '1');
INSERT INTO runs (id, command, started, finished, actor, exit_code) VALUES (1, 'ingest', '2025-01-02T06:15:00Z', '2025-01-02T06:15:02Z', 'spendsync@agent', 0);
INSERT INTO persons VALUES ('000101', 'afas', 'Jan', 'van den', 'Boele', '', '', 'B', 'M', 'jan@example.nl', 'jan@example.nl', 0, '', NULL, '2025-01-02T06:15:01Z');
INSERT INTO contracts VALUES ('000101', '101-1', '101-1', '2015-01-01', '', 'FIN', 'Financiën', 'CTRL', 'Controller');
INSERT INTO events (time, run_id, actor, source, kind, employee_number, details) VALUES ('2025-01-02T06:15:01Z', 1, 'spendsync@agent', 'afas', 'person.joined', '000101', '{"person":{"last_name":"Boele"}}');
