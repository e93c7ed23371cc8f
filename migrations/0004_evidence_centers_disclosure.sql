-- Jurisdiction by level (R-46), evidence files (R-03, R-32) and public disclosure (R-47).

-- R-46 分级负责、归口办理: the register of complaint centers. A city center's parent is the
-- province center, a district's the city, a department's own center the level it belongs to.
-- Appeals (R-28) go to the parent.
CREATE TABLE centers (
    code        text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    name        text NOT NULL,
    level       text NOT NULL CHECK (level IN ('province', 'city', 'district', 'department')),
    parent      text REFERENCES centers(code),
    policy      text,                          -- deadline policy of new cases; NULL = settings.policy
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (parent IS DISTINCT FROM code)
);

-- Which center has jurisdiction over complaints about a unit. scope 'unit': the unit itself (a
-- department of the center's level, or a government one level below); scope 'staff': the
-- unit's own staff, incl. hired and seconded staff (a department's own center). Intake looks up
-- (respondent unit, subject); a staff complaint without a 'staff' row goes to the 'unit' row.
CREATE TABLE center_units (
    unit_code   text NOT NULL,
    scope       text NOT NULL CHECK (scope IN ('unit', 'staff')),
    center      text NOT NULL REFERENCES centers(code),
    unit_name   text NOT NULL DEFAULT '',
    PRIMARY KEY (unit_code, scope)
);
CREATE INDEX center_units_center_idx ON center_units (center, unit_code);

-- The seed: the dev tokens' center `default` is a city center under a province center, with a
-- district center below it and the tax bureau's own center for its staff.
INSERT INTO centers (code, name, level, parent) VALUES
    ('province', '省机关效能投诉中心', 'province', NULL),
    ('default', '市效能投诉中心', 'city', 'province'),
    ('district', '区效能投诉中心', 'district', 'default'),
    ('tax-bureau-dept', '市税务局效能投诉中心', 'department', 'default');

INSERT INTO center_units (unit_code, scope, center, unit_name) VALUES
    ('market-bureau-prov', 'unit', 'province', '省市场监督管理局'),
    ('city-gov', 'unit', 'province', '市人民政府'),
    ('tax-bureau', 'unit', 'default', '市税务局'),
    ('housing-bureau', 'unit', 'default', '市住房和城乡建设局'),
    ('district-gov', 'unit', 'default', '区人民政府'),
    ('education-bureau-district', 'unit', 'district', '区教育局'),
    ('town-gov', 'unit', 'district', '某镇人民政府'),
    ('tax-bureau', 'staff', 'tax-bureau-dept', '市税务局');

ALTER TABLE complaints
    ADD COLUMN publish_consent boolean NOT NULL DEFAULT false,  -- R-47: the complainant agreed
    ADD COLUMN origin_case text,                                 -- forwarded here from (R-12)
    -- The center reviewing an appeal (R-28, R-46), from the projected state, so the list of the
    -- parent center finds the case without reading every state document.
    ADD COLUMN appeal_center text GENERATED ALWAYS AS (state->>'appeal_center') STORED;
CREATE INDEX complaints_appeal_center_idx ON complaints (appeal_center, registered_at DESC)
    WHERE appeal_center IS NOT NULL;
CREATE INDEX complaints_concluded_unit_idx ON complaints (respondent_unit, archived_at)
    WHERE outcome = 'concluded';

-- R-12 forwarding to another center opens a linked case there; the old case is archived, so
-- the link lives here.
CREATE TABLE case_links (
    from_number text NOT NULL REFERENCES complaints(number),
    kind        text NOT NULL CHECK (kind IN ('forward')),
    to_number   text NOT NULL UNIQUE REFERENCES complaints(number),
    from_center text NOT NULL,
    to_center   text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (from_number, kind)
);

-- Evidence files (证据材料, R-03). The bytes live in the evidence directory under their SHA-256
-- (content-addressed, so a forwarded case shares them); these rows say whose they are and who
-- may see them. filename and description may be personal: complaint office only. A handling
-- unit sees `summary`, and downloads only files a leader shared or its own uploads (R-32).
CREATE TABLE evidence (
    id            bigserial PRIMARY KEY,
    number        text NOT NULL REFERENCES complaints(number),
    provided_by   text NOT NULL CHECK (provided_by IN ('complainant', 'office', 'unit')),
    filename      text NOT NULL,
    description   text NOT NULL DEFAULT '',
    summary       text NOT NULL DEFAULT '',
    kind          text NOT NULL,               -- sniffed from the content: jpeg, pdf, docx, ...
    content_type  text NOT NULL,
    size          bigint NOT NULL CHECK (size > 0),
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    uploaded_by   text NOT NULL,
    uploaded_role text NOT NULL,
    uploaded_unit text,
    uploaded_at   timestamptz NOT NULL DEFAULT now(),
    shared        boolean NOT NULL DEFAULT false,
    shared_by     text,
    shared_at     timestamptz,
    share_note    text NOT NULL DEFAULT ''
);
CREATE INDEX evidence_number_idx ON evidence (number, id);
