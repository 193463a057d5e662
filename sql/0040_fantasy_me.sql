-- fantasy.me: the one table you fill by hand, so the dashboards know which teams are yours.

CREATE TABLE fantasy.me (
    source    text NOT NULL CHECK (source IN ('espn', 'sleeper')),
    member_id text NOT NULL,
    note      text,
    PRIMARY KEY (source, member_id)
);
COMMENT ON TABLE fantasy.me IS 'Who you are on each fantasy platform, so the Fantasy dashboard can tell your teams from the others (edit freely; look yourself up in fantasy.members). ESPN: your member id, the SWID cookie with its braces, {XXXXXXXX-...}; Sleeper: your user_id. Several rows per platform are fine.';
COMMENT ON COLUMN fantasy.me.source IS 'Platform: espn or sleeper.';
COMMENT ON COLUMN fantasy.me.member_id IS 'Your id there (fantasy.members.member_id): ESPN SWID {GUID}, Sleeper user_id.';
COMMENT ON COLUMN fantasy.me.note IS 'Your note (which account this is).';
