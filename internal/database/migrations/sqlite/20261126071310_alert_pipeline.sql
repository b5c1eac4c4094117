-- +goose Up
-- create "alerts" table
CREATE TABLE `alerts` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `title` text NOT NULL, `severity` text NOT NULL, `status` text NOT NULL DEFAULT ('NEW'), `dedup_key` text NOT NULL, `count` integer NOT NULL DEFAULT (1), `first_seen` datetime NOT NULL, `last_seen` datetime NOT NULL, `risk_score` integer NOT NULL, `risk_breakdown` json NOT NULL, `techniques` json NULL, `entities` json NULL, `samples` json NULL, `sla_due_at` datetime NOT NULL, `acknowledged_at` datetime NULL, `resolved_at` datetime NULL, `tenant_id` text NOT NULL, `rule_id` text NULL, `assignee_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `alerts_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION, CONSTRAINT `alerts_rules_rule` FOREIGN KEY (`rule_id`) REFERENCES `rules` (`id`) ON DELETE SET NULL, CONSTRAINT `alerts_users_assignee` FOREIGN KEY (`assignee_id`) REFERENCES `users` (`id`) ON DELETE SET NULL);
-- create index "alert_tenant_id" to table: "alerts"
CREATE INDEX `alert_tenant_id` ON `alerts` (`tenant_id`);
-- create index "alert_tenant_id_dedup_key_status" to table: "alerts"
CREATE INDEX `alert_tenant_id_dedup_key_status` ON `alerts` (`tenant_id`, `dedup_key`, `status`);
-- create index "alert_tenant_id_last_seen" to table: "alerts"
CREATE INDEX `alert_tenant_id_last_seen` ON `alerts` (`tenant_id`, `last_seen`);
-- create "alert_comments" table
CREATE TABLE `alert_comments` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `body` text NOT NULL, `alert_id` text NOT NULL, `tenant_id` text NOT NULL, `author_id` text NULL, PRIMARY KEY (`id`), CONSTRAINT `alert_comments_alerts_comments` FOREIGN KEY (`alert_id`) REFERENCES `alerts` (`id`) ON DELETE NO ACTION, CONSTRAINT `alert_comments_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION, CONSTRAINT `alert_comments_users_author` FOREIGN KEY (`author_id`) REFERENCES `users` (`id`) ON DELETE SET NULL);
-- create index "alertcomment_tenant_id" to table: "alert_comments"
CREATE INDEX `alertcomment_tenant_id` ON `alert_comments` (`tenant_id`);
-- create "alert_stream_entries" table
CREATE TABLE `alert_stream_entries` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `seq` integer NOT NULL, `alert_id` text NOT NULL, `kind` text NOT NULL, `tenant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `alert_stream_entries_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
-- create index "alertstreamentry_tenant_id" to table: "alert_stream_entries"
CREATE INDEX `alertstreamentry_tenant_id` ON `alert_stream_entries` (`tenant_id`);
-- create index "alertstreamentry_tenant_id_seq" to table: "alert_stream_entries"
CREATE UNIQUE INDEX `alertstreamentry_tenant_id_seq` ON `alert_stream_entries` (`tenant_id`, `seq`);
-- create "alert_stream_heads" table
CREATE TABLE `alert_stream_heads` (`id` text NOT NULL, `seq` integer NOT NULL DEFAULT (0), `tenant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `alert_stream_heads_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
-- create index "alertstreamhead_tenant_id" to table: "alert_stream_heads"
CREATE INDEX `alertstreamhead_tenant_id` ON `alert_stream_heads` (`tenant_id`);
-- create index "alertstreamhead_tenant_unique" to table: "alert_stream_heads"
CREATE UNIQUE INDEX `alertstreamhead_tenant_unique` ON `alert_stream_heads` (`tenant_id`);
-- create "events" table
CREATE TABLE `events` (`id` text NOT NULL, `external_id` text NULL, `batch_id` text NOT NULL, `timestamp` datetime NOT NULL, `received_at` datetime NOT NULL, `category` text NULL, `action` text NULL, `outcome` text NULL, `source_ip` text NULL, `user_name` text NULL, `host_name` text NULL, `fields` json NOT NULL, `original` json NOT NULL, `tenant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `events_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
-- create index "event_tenant_id" to table: "events"
CREATE INDEX `event_tenant_id` ON `events` (`tenant_id`);
-- create index "event_tenant_id_external_id" to table: "events"
CREATE UNIQUE INDEX `event_tenant_id_external_id` ON `events` (`tenant_id`, `external_id`);
-- create index "event_tenant_id_batch_id" to table: "events"
CREATE INDEX `event_tenant_id_batch_id` ON `events` (`tenant_id`, `batch_id`);
-- create index "event_tenant_id_timestamp" to table: "events"
CREATE INDEX `event_tenant_id_timestamp` ON `events` (`tenant_id`, `timestamp`);
-- create "ingest_requests" table
CREATE TABLE `ingest_requests` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `key` text NOT NULL, `body_hash` text NOT NULL, `response` blob NULL, `tenant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `ingest_requests_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
-- create index "ingestrequest_tenant_id" to table: "ingest_requests"
CREATE INDEX `ingestrequest_tenant_id` ON `ingest_requests` (`tenant_id`);
-- create index "ingestrequest_tenant_id_key" to table: "ingest_requests"
CREATE UNIQUE INDEX `ingestrequest_tenant_id_key` ON `ingest_requests` (`tenant_id`, `key`);
-- create "rules" table
CREATE TABLE `rules` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `key` text NULL, `kind` text NOT NULL, `definition` text NOT NULL, `severity` text NOT NULL, `enabled` bool NOT NULL DEFAULT (true), `description` text NULL, `tags` json NULL, `dedup_fields` json NULL, `version` integer NOT NULL DEFAULT (1), `tenant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `rules_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
-- create index "rule_tenant_id" to table: "rules"
CREATE INDEX `rule_tenant_id` ON `rules` (`tenant_id`);
-- create index "rule_tenant_id_key" to table: "rules"
CREATE UNIQUE INDEX `rule_tenant_id_key` ON `rules` (`tenant_id`, `key`);
-- create "threshold_hits" table
CREATE TABLE `threshold_hits` (`id` text NOT NULL, `rule_id` text NOT NULL, `group_key` text NOT NULL, `at` datetime NOT NULL, `event_id` text NOT NULL, `distinct` text NULL, `follow_up` bool NOT NULL DEFAULT (false), `tenant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `threshold_hits_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
-- create index "thresholdhit_tenant_id" to table: "threshold_hits"
CREATE INDEX `thresholdhit_tenant_id` ON `threshold_hits` (`tenant_id`);
-- create index "thresholdhit_tenant_id_rule_id_group_key_at" to table: "threshold_hits"
CREATE INDEX `thresholdhit_tenant_id_rule_id_group_key_at` ON `threshold_hits` (`tenant_id`, `rule_id`, `group_key`, `at`);

-- +goose Down
-- reverse: create index "thresholdhit_tenant_id_rule_id_group_key_at" to table: "threshold_hits"
DROP INDEX `thresholdhit_tenant_id_rule_id_group_key_at`;
-- reverse: create index "thresholdhit_tenant_id" to table: "threshold_hits"
DROP INDEX `thresholdhit_tenant_id`;
-- reverse: create "threshold_hits" table
DROP TABLE `threshold_hits`;
-- reverse: create index "rule_tenant_id_key" to table: "rules"
DROP INDEX `rule_tenant_id_key`;
-- reverse: create index "rule_tenant_id" to table: "rules"
DROP INDEX `rule_tenant_id`;
-- reverse: create "rules" table
DROP TABLE `rules`;
-- reverse: create index "ingestrequest_tenant_id_key" to table: "ingest_requests"
DROP INDEX `ingestrequest_tenant_id_key`;
-- reverse: create index "ingestrequest_tenant_id" to table: "ingest_requests"
DROP INDEX `ingestrequest_tenant_id`;
-- reverse: create "ingest_requests" table
DROP TABLE `ingest_requests`;
-- reverse: create index "event_tenant_id_timestamp" to table: "events"
DROP INDEX `event_tenant_id_timestamp`;
-- reverse: create index "event_tenant_id_batch_id" to table: "events"
DROP INDEX `event_tenant_id_batch_id`;
-- reverse: create index "event_tenant_id_external_id" to table: "events"
DROP INDEX `event_tenant_id_external_id`;
-- reverse: create index "event_tenant_id" to table: "events"
DROP INDEX `event_tenant_id`;
-- reverse: create "events" table
DROP TABLE `events`;
-- reverse: create index "alertstreamhead_tenant_unique" to table: "alert_stream_heads"
DROP INDEX `alertstreamhead_tenant_unique`;
-- reverse: create index "alertstreamhead_tenant_id" to table: "alert_stream_heads"
DROP INDEX `alertstreamhead_tenant_id`;
-- reverse: create "alert_stream_heads" table
DROP TABLE `alert_stream_heads`;
-- reverse: create index "alertstreamentry_tenant_id_seq" to table: "alert_stream_entries"
DROP INDEX `alertstreamentry_tenant_id_seq`;
-- reverse: create index "alertstreamentry_tenant_id" to table: "alert_stream_entries"
DROP INDEX `alertstreamentry_tenant_id`;
-- reverse: create "alert_stream_entries" table
DROP TABLE `alert_stream_entries`;
-- reverse: create index "alertcomment_tenant_id" to table: "alert_comments"
DROP INDEX `alertcomment_tenant_id`;
-- reverse: create "alert_comments" table
DROP TABLE `alert_comments`;
-- reverse: create index "alert_tenant_id_last_seen" to table: "alerts"
DROP INDEX `alert_tenant_id_last_seen`;
-- reverse: create index "alert_tenant_id_dedup_key_status" to table: "alerts"
DROP INDEX `alert_tenant_id_dedup_key_status`;
-- reverse: create index "alert_tenant_id" to table: "alerts"
DROP INDEX `alert_tenant_id`;
-- reverse: create "alerts" table
DROP TABLE `alerts`;
