package authz

import "slices"

// Resources are the things a permission is about. The strings are stored in
// the policy table and shown to clients (viewer.permissions): never rename
// one, add a new one instead.
const (
	ResourceTenant       = "tenant"
	ResourceMember       = "member"
	ResourceAPIKey       = "apikey"
	ResourceAudit        = "audit"
	ResourceAccessReview = "access_review"
	ResourceEvent        = "event"
	ResourceAlert        = "alert"
	ResourceRule         = "rule"
	ResourceIndicator    = "indicator"
	ResourceReport       = "report"
	ResourceJob          = "job"
	ResourceRetention    = "retention"
	ResourceDataSubject  = "data_subject"
	ResourceBilling      = "billing"
)

// Actions are what may be done to a resource. Stable strings, like resources.
const (
	ActionRead       = "read"
	ActionUpdate     = "update"
	ActionAdd        = "add"
	ActionAssignRole = "assign_role"
	ActionRemove     = "remove"
	ActionCreate     = "create"
	ActionRevoke     = "revoke"
	ActionManage     = "manage"
	ActionDecide     = "decide"
	ActionWrite      = "write"
	ActionTriage     = "triage"
	ActionSubscribe  = "subscribe"
	ActionRequest    = "request"
	ActionRetry      = "retry"
)

// The membership roles of a tenant (API.md, "Roles"). They match the
// Membership.role enum of the schema.
const (
	Owner   = "OWNER"
	Admin   = "ADMIN"
	Analyst = "ANALYST"
	Viewer  = "VIEWER"
	Auditor = "AUDITOR"
	Partner = "PARTNER"
)

// Roles lists the roles in the order documents and tables show them.
var Roles = []string{Owner, Admin, Analyst, Viewer, Auditor, Partner}

// Permission is an action on a resource, such as alert:triage.
type Permission struct {
	Resource string
	Action   string
}

// String returns "resource:action", the form clients see.
func (p Permission) String() string { return p.Resource + ":" + p.Action }

// The permissions Vigil checks. Resolvers and jobs name these, never strings.
var (
	TenantRead   = Permission{ResourceTenant, ActionRead}
	TenantUpdate = Permission{ResourceTenant, ActionUpdate}

	MemberRead       = Permission{ResourceMember, ActionRead}
	MemberAdd        = Permission{ResourceMember, ActionAdd}
	MemberAssignRole = Permission{ResourceMember, ActionAssignRole}
	MemberRemove     = Permission{ResourceMember, ActionRemove}

	APIKeyRead   = Permission{ResourceAPIKey, ActionRead}
	APIKeyCreate = Permission{ResourceAPIKey, ActionCreate}
	APIKeyRevoke = Permission{ResourceAPIKey, ActionRevoke}

	AuditRead = Permission{ResourceAudit, ActionRead}

	AccessReviewRead   = Permission{ResourceAccessReview, ActionRead}
	AccessReviewManage = Permission{ResourceAccessReview, ActionManage}
	AccessReviewDecide = Permission{ResourceAccessReview, ActionDecide}

	EventRead  = Permission{ResourceEvent, ActionRead}
	EventWrite = Permission{ResourceEvent, ActionWrite}

	AlertRead      = Permission{ResourceAlert, ActionRead}
	AlertTriage    = Permission{ResourceAlert, ActionTriage}
	AlertSubscribe = Permission{ResourceAlert, ActionSubscribe}

	RuleRead   = Permission{ResourceRule, ActionRead}
	RuleManage = Permission{ResourceRule, ActionManage}

	IndicatorRead   = Permission{ResourceIndicator, ActionRead}
	IndicatorManage = Permission{ResourceIndicator, ActionManage}

	ReportRead    = Permission{ResourceReport, ActionRead}
	ReportRequest = Permission{ResourceReport, ActionRequest}

	JobRead  = Permission{ResourceJob, ActionRead}
	JobRetry = Permission{ResourceJob, ActionRetry}

	RetentionRead   = Permission{ResourceRetention, ActionRead}
	RetentionManage = Permission{ResourceRetention, ActionManage}

	DataSubjectManage = Permission{ResourceDataSubject, ActionManage}

	BillingRead   = Permission{ResourceBilling, ActionRead}
	BillingManage = Permission{ResourceBilling, ActionManage}
)

// Row is one line of the permission matrix: a permission and the roles that
// hold it in every tenant by default.
type Row struct {
	Permission Permission
	Roles      []string
}

// Matrix is the default permission matrix: who may do what in any tenant.
// New seeds the policy table from it; docs/permissions.md is generated from
// it. A tenant may be granted more (Authz.Grant), never through this table.
//
// OWNER holds everything, ADMIN everything but billing:manage, ANALYST works
// alerts, rules and intel, VIEWER reads, AUDITOR reads the audit trail,
// reviews and reports (no triage), PARTNER only ingests and subscribes.
var Matrix = []Row{
	{TenantRead, []string{Owner, Admin, Analyst, Viewer, Auditor}},
	{TenantUpdate, []string{Owner, Admin}},

	{MemberRead, []string{Owner, Admin, Analyst, Viewer, Auditor}},
	{MemberAdd, []string{Owner, Admin}},
	{MemberAssignRole, []string{Owner, Admin}},
	{MemberRemove, []string{Owner, Admin}},

	{APIKeyRead, []string{Owner, Admin}},
	{APIKeyCreate, []string{Owner, Admin}},
	{APIKeyRevoke, []string{Owner, Admin}},

	{AuditRead, []string{Owner, Admin, Auditor}},

	{AccessReviewRead, []string{Owner, Admin, Auditor}},
	{AccessReviewManage, []string{Owner, Admin}},
	{AccessReviewDecide, []string{Owner, Admin, Auditor}},

	{EventRead, []string{Owner, Admin, Analyst, Viewer}},
	{EventWrite, []string{Owner, Admin, Analyst, Partner}},

	{AlertRead, []string{Owner, Admin, Analyst, Viewer, Auditor}},
	{AlertTriage, []string{Owner, Admin, Analyst}},
	{AlertSubscribe, []string{Owner, Admin, Analyst, Viewer, Partner}},

	{RuleRead, []string{Owner, Admin, Analyst, Viewer}},
	{RuleManage, []string{Owner, Admin, Analyst}},

	{IndicatorRead, []string{Owner, Admin, Analyst, Viewer}},
	{IndicatorManage, []string{Owner, Admin, Analyst}},

	{ReportRead, []string{Owner, Admin, Analyst, Viewer, Auditor}},
	{ReportRequest, []string{Owner, Admin, Analyst, Auditor}},

	{JobRead, []string{Owner, Admin, Analyst}},
	{JobRetry, []string{Owner, Admin}},

	{RetentionRead, []string{Owner, Admin}},
	{RetentionManage, []string{Owner, Admin}},

	{DataSubjectManage, []string{Owner, Admin}},

	{BillingRead, []string{Owner, Admin}},
	{BillingManage, []string{Owner}},
}

// RolePermissions returns the permissions role holds by default, in matrix
// order; nil for an unknown role. What a role holds in a given tenant, with
// that tenant's extra grants, is Authz.Permissions.
func RolePermissions(role string) []Permission {
	var ps []Permission
	for _, r := range Matrix {
		if slices.Contains(r.Roles, role) {
			ps = append(ps, r.Permission)
		}
	}
	return ps
}

// Known reports whether p is a permission of the matrix.
func Known(p Permission) bool {
	return slices.ContainsFunc(Matrix, func(r Row) bool { return r.Permission == p })
}

// IsRole reports whether role is one of Roles.
func IsRole(role string) bool { return slices.Contains(Roles, role) }
