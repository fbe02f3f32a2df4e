-- 0020_auth.sql: API tokens and the authenticated principal in the audit log (issue 5).
--
-- A token is "hjo_<id>_<secret>"; only SHA-256(secret) is stored (hex), compared in constant
-- time by hjo-api.  Roles: ingest (post events and samples), reader (read everything),
-- user (read the jobs of user_name only), admin (everything, incl. DELETE and tokens).

CREATE TABLE api_tokens (
        id            text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{16}$'),
        name          text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._:@-]{1,64}$'),
        role          text NOT NULL CHECK (role IN ('ingest', 'reader', 'user', 'admin')),
        user_name     text CHECK (user_name IS NULL OR length(user_name) BETWEEN 1 AND 255),
        secret_sha256 text NOT NULL CHECK (secret_sha256 ~ '^[0-9a-f]{64}$'),
        created_at    timestamptz NOT NULL DEFAULT now(),
        created_by    text NOT NULL,
        expires_at    timestamptz,
        revoked_at    timestamptz,
        last_used_at  timestamptz,
        CHECK ((role = 'user') = (user_name IS NOT NULL))
);

-- The audit log names who did it: the authenticated principal ("token:<name>",
-- "mtls:<subject>"), set per connection by hjo-api in hjo.principal; X-Changed-By stays as
-- context in changed_by.  Token management rows have no job.
ALTER TABLE audit_log ADD COLUMN principal text;
ALTER TABLE audit_log ALTER COLUMN job_id DROP NOT NULL;

CREATE OR REPLACE FUNCTION hjo_audit(p_job_id text, p_action text, p_changed_by text,
                                     p_source text, p_corr text, p_changes jsonb) RETURNS void
LANGUAGE sql AS $$
        INSERT INTO audit_log (job_id, action, changed_by, source, correlation_id, changes,
                               principal)
        VALUES (p_job_id, p_action, p_changed_by, p_source, p_corr, coalesce(p_changes, '{}'),
                nullif(current_setting('hjo.principal', true), ''))
$$;

CREATE FUNCTION hjo_token_create(p_id text, p_name text, p_role text, p_user text,
                                 p_hash text, p_expires timestamptz, p_by text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
        INSERT INTO api_tokens (id, name, role, user_name, secret_sha256, expires_at, created_by)
        VALUES (p_id, p_name, p_role, p_user, p_hash, p_expires, p_by);
        INSERT INTO audit_log (job_id, action, changed_by, source, correlation_id, changes,
                               principal)
        VALUES (NULL, 'token-create', p_by, 'hjo-admin', '', jsonb_build_object(
                        'name', p_name, 'role', p_role, 'user', p_user, 'expires_at', p_expires),
                p_by);
END
$$;

CREATE FUNCTION hjo_token_revoke(p_name text, p_by text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
        UPDATE api_tokens SET revoked_at = now() WHERE name = p_name AND revoked_at IS NULL;
        IF NOT FOUND THEN
                RETURN false;
        END IF;
        INSERT INTO audit_log (job_id, action, changed_by, source, correlation_id, changes,
                               principal)
        VALUES (NULL, 'token-revoke', p_by, 'hjo-admin', '', jsonb_build_object('name', p_name),
                p_by);
        RETURN true;
END
$$;
