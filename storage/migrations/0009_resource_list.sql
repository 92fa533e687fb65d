-- The inspector lists resources newest first and pages by (created_at, id).

CREATE INDEX resources_created ON resources (created_at DESC, id DESC);
