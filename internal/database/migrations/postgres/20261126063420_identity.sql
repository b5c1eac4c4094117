-- +goose Up
-- create "casbin_rules" table
CREATE TABLE "casbin_rules" ("id" character varying NOT NULL, "ptype" character varying NOT NULL, "v0" character varying NOT NULL DEFAULT '', "v1" character varying NOT NULL DEFAULT '', "v2" character varying NOT NULL DEFAULT '', "v3" character varying NOT NULL DEFAULT '', "v4" character varying NOT NULL DEFAULT '', "v5" character varying NOT NULL DEFAULT '', PRIMARY KEY ("id"));
-- create index "casbinrule_ptype_v0_v1_v2_v3_v4_v5" to table: "casbin_rules"
CREATE UNIQUE INDEX "casbinrule_ptype_v0_v1_v2_v3_v4_v5" ON "casbin_rules" ("ptype", "v0", "v1", "v2", "v3", "v4", "v5");
-- create "api_keys" table
CREATE TABLE "api_keys" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "name" character varying NOT NULL, "lookup" character varying NOT NULL, "secret_hash" character varying NOT NULL, "scopes" jsonb NOT NULL, "role" character varying NOT NULL DEFAULT 'PARTNER', "created_by" character varying NULL, "expires_at" timestamptz NULL, "last_used_at" timestamptz NULL, "revoked_at" timestamptz NULL, "tenant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "api_keys_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "api_keys_lookup_key" to table: "api_keys"
CREATE UNIQUE INDEX "api_keys_lookup_key" ON "api_keys" ("lookup");
-- create index "apikey_tenant_id" to table: "api_keys"
CREATE INDEX "apikey_tenant_id" ON "api_keys" ("tenant_id");
-- create index "apikey_tenant_id_name" to table: "api_keys"
CREATE INDEX "apikey_tenant_id_name" ON "api_keys" ("tenant_id", "name");
-- create "sessions" table
CREATE TABLE "sessions" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "tenant_id" character varying NULL, "expires_at" timestamptz NOT NULL, "last_seen_at" timestamptz NOT NULL, "revoked_at" timestamptz NULL, "revoke_reason" character varying NULL, "user_agent" character varying NOT NULL DEFAULT '', "ip" character varying NOT NULL DEFAULT '', "user_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "sessions_users_user" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "session_user_id" to table: "sessions"
CREATE INDEX "session_user_id" ON "sessions" ("user_id");
-- create "refresh_tokens" table
CREATE TABLE "refresh_tokens" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "token_hash" character varying NOT NULL, "expires_at" timestamptz NOT NULL, "used_at" timestamptz NULL, "session_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "refresh_tokens_sessions_session" FOREIGN KEY ("session_id") REFERENCES "sessions" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "refresh_tokens_token_hash_key" to table: "refresh_tokens"
CREATE UNIQUE INDEX "refresh_tokens_token_hash_key" ON "refresh_tokens" ("token_hash");

-- +goose Down
-- reverse: create index "refresh_tokens_token_hash_key" to table: "refresh_tokens"
DROP INDEX "refresh_tokens_token_hash_key";
-- reverse: create "refresh_tokens" table
DROP TABLE "refresh_tokens";
-- reverse: create index "session_user_id" to table: "sessions"
DROP INDEX "session_user_id";
-- reverse: create "sessions" table
DROP TABLE "sessions";
-- reverse: create index "apikey_tenant_id_name" to table: "api_keys"
DROP INDEX "apikey_tenant_id_name";
-- reverse: create index "apikey_tenant_id" to table: "api_keys"
DROP INDEX "apikey_tenant_id";
-- reverse: create index "api_keys_lookup_key" to table: "api_keys"
DROP INDEX "api_keys_lookup_key";
-- reverse: create "api_keys" table
DROP TABLE "api_keys";
-- reverse: create index "casbinrule_ptype_v0_v1_v2_v3_v4_v5" to table: "casbin_rules"
DROP INDEX "casbinrule_ptype_v0_v1_v2_v3_v4_v5";
-- reverse: create "casbin_rules" table
DROP TABLE "casbin_rules";
