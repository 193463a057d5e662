-- Backups of pde's databases (`pde backup`, the nightly `backup` DAG): one row per dumped
-- database file, so the home page and the pipeline-health dashboard can show "last backup",
-- and `pde doctor` can say when it is too old.

CREATE TABLE platform.backups (
    backup_id    bigserial PRIMARY KEY,
    label        text NOT NULL,
    database     text NOT NULL,
    taken_at     timestamptz NOT NULL,
    file         text NOT NULL,
    size_bytes   bigint NOT NULL,
    duration_s   double precision NOT NULL,
    sha256       text NOT NULL,
    encrypted    boolean NOT NULL DEFAULT false,
    server_version text,
    host         text,
    pruned_at    timestamptz
);
CREATE INDEX backups_taken ON platform.backups (database, taken_at DESC);
COMMENT ON TABLE platform.backups IS 'One row per database file written by `pde backup` (pg_dump custom format), newest last.';
COMMENT ON COLUMN platform.backups.backup_id IS 'Row number.';
COMMENT ON COLUMN platform.backups.label IS 'The backup set (folder name under the backup folder, a UTC time like 20261201T023000Z); one set holds pde''s data and, when on the same server, Airflow''s and Superset''s metadata.';
COMMENT ON COLUMN platform.backups.database IS 'The PostgreSQL database dumped, e.g. pde, airflow, superset.';
COMMENT ON COLUMN platform.backups.taken_at IS 'When the dump''s snapshot was taken: the data is as of this moment.';
COMMENT ON COLUMN platform.backups.file IS 'Full path of the dump file when it was written (PDE_BACKUP_DIR/<label>/<database>.dump, .enc when encrypted).';
COMMENT ON COLUMN platform.backups.size_bytes IS 'Size of the file in bytes.';
COMMENT ON COLUMN platform.backups.duration_s IS 'Seconds pg_dump (and encryption) took.';
COMMENT ON COLUMN platform.backups.sha256 IS 'SHA-256 of the file as written; `pde restore` checks it before restoring.';
COMMENT ON COLUMN platform.backups.encrypted IS 'True when the file is encrypted with the user''s PDE_BACKUP_KEY (without that key it cannot be restored).';
COMMENT ON COLUMN platform.backups.server_version IS 'PostgreSQL server version the dump was taken from.';
COMMENT ON COLUMN platform.backups.host IS 'Machine that ran the backup.';
COMMENT ON COLUMN platform.backups.pruned_at IS 'When retention deleted the file (null while it is kept).';

CREATE VIEW platform.last_backups AS
SELECT DISTINCT ON (database) database, label, taken_at, now() - taken_at AS age, file, size_bytes, encrypted
  FROM platform.backups
 WHERE pruned_at IS NULL
 ORDER BY database, taken_at DESC;
COMMENT ON VIEW platform.last_backups IS 'The newest kept backup of each database: what "last backup" on the home page and the pipeline-health dashboard shows.';
COMMENT ON COLUMN platform.last_backups.database IS 'The PostgreSQL database dumped.';
COMMENT ON COLUMN platform.last_backups.label IS 'The backup set (folder name).';
COMMENT ON COLUMN platform.last_backups.taken_at IS 'When its snapshot was taken.';
COMMENT ON COLUMN platform.last_backups.age IS 'How long ago that was.';
COMMENT ON COLUMN platform.last_backups.file IS 'Path of the dump file.';
COMMENT ON COLUMN platform.last_backups.size_bytes IS 'Size of the file in bytes.';
COMMENT ON COLUMN platform.last_backups.encrypted IS 'Encrypted with the user''s PDE_BACKUP_KEY.';
