-- +goose Up
-- create "api_keys" table
CREATE TABLE `api_keys` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `lookup` text NOT NULL, `secret_hash` text NOT NULL, `scopes` json NOT NULL, `role` text NOT NULL DEFAULT ('PARTNER'), `created_by` text NULL, `expires_at` datetime NULL, `last_used_at` datetime NULL, `revoked_at` datetime NULL, `tenant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `api_keys_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
-- create index "api_keys_lookup_key" to table: "api_keys"
CREATE UNIQUE INDEX `api_keys_lookup_key` ON `api_keys` (`lookup`);
-- create index "apikey_tenant_id" to table: "api_keys"
CREATE INDEX `apikey_tenant_id` ON `api_keys` (`tenant_id`);
-- create index "apikey_tenant_id_name" to table: "api_keys"
CREATE INDEX `apikey_tenant_id_name` ON `api_keys` (`tenant_id`, `name`);
-- create "casbin_rules" table
CREATE TABLE `casbin_rules` (`id` text NOT NULL, `ptype` text NOT NULL, `v0` text NOT NULL DEFAULT (''), `v1` text NOT NULL DEFAULT (''), `v2` text NOT NULL DEFAULT (''), `v3` text NOT NULL DEFAULT (''), `v4` text NOT NULL DEFAULT (''), `v5` text NOT NULL DEFAULT (''), PRIMARY KEY (`id`));
-- create index "casbinrule_ptype_v0_v1_v2_v3_v4_v5" to table: "casbin_rules"
CREATE UNIQUE INDEX `casbinrule_ptype_v0_v1_v2_v3_v4_v5` ON `casbin_rules` (`ptype`, `v0`, `v1`, `v2`, `v3`, `v4`, `v5`);
-- create "refresh_tokens" table
CREATE TABLE `refresh_tokens` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `token_hash` text NOT NULL, `expires_at` datetime NOT NULL, `used_at` datetime NULL, `session_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `refresh_tokens_sessions_session` FOREIGN KEY (`session_id`) REFERENCES `sessions` (`id`) ON DELETE NO ACTION);
-- create index "refresh_tokens_token_hash_key" to table: "refresh_tokens"
CREATE UNIQUE INDEX `refresh_tokens_token_hash_key` ON `refresh_tokens` (`token_hash`);
-- create "sessions" table
CREATE TABLE `sessions` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `tenant_id` text NULL, `expires_at` datetime NOT NULL, `last_seen_at` datetime NOT NULL, `revoked_at` datetime NULL, `revoke_reason` text NULL, `user_agent` text NOT NULL DEFAULT (''), `ip` text NOT NULL DEFAULT (''), `user_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `sessions_users_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE NO ACTION);
-- create index "session_user_id" to table: "sessions"
CREATE INDEX `session_user_id` ON `sessions` (`user_id`);

-- +goose Down
-- reverse: create index "session_user_id" to table: "sessions"
DROP INDEX `session_user_id`;
-- reverse: create "sessions" table
DROP TABLE `sessions`;
-- reverse: create index "refresh_tokens_token_hash_key" to table: "refresh_tokens"
DROP INDEX `refresh_tokens_token_hash_key`;
-- reverse: create "refresh_tokens" table
DROP TABLE `refresh_tokens`;
-- reverse: create index "casbinrule_ptype_v0_v1_v2_v3_v4_v5" to table: "casbin_rules"
DROP INDEX `casbinrule_ptype_v0_v1_v2_v3_v4_v5`;
-- reverse: create "casbin_rules" table
DROP TABLE `casbin_rules`;
-- reverse: create index "apikey_tenant_id_name" to table: "api_keys"
DROP INDEX `apikey_tenant_id_name`;
-- reverse: create index "apikey_tenant_id" to table: "api_keys"
DROP INDEX `apikey_tenant_id`;
-- reverse: create index "api_keys_lookup_key" to table: "api_keys"
DROP INDEX `api_keys_lookup_key`;
-- reverse: create "api_keys" table
DROP TABLE `api_keys`;
