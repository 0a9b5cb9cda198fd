package audit

// Role is a user's role within an account.
type Role string

// The four roles of the seed's role table, from most to least privileged.
const (
	RoleOwner          Role = "owner"
	RoleAdmin          Role = "admin"
	RoleAnalyst        Role = "analyst"
	RoleContentCreator Role = "content_creator"
)

// Roles lists every valid role, most privileged first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleAnalyst, RoleContentCreator}

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RoleOwner, RoleAdmin, RoleAnalyst, RoleContentCreator:
		return true
	}
	return false
}

// Permission is something a role may be allowed to do.
type Permission string

// Permissions, one per row of the seed's role table.
const (
	PermViewAuditLogs Permission = "audit_logs:read"
	PermCreateUsers   Permission = "users:create"
	PermViewUsers     Permission = "users:read"
	PermViewAccount   Permission = "account:read"
	// PermWriteEvents records events through the ingest API; PermManageAPIKeys
	// creates, lists and revokes API keys. Neither is in the seed's table.
	PermWriteEvents   Permission = "events:write"
	PermManageAPIKeys Permission = "api_keys:manage"
	// PermManageUsers changes users' roles and deactivates or reactivates
	// them; PermManageAccountSecurity sets the account's security policy
	// (requiring MFA). Neither is in the seed's table.
	PermManageUsers           Permission = "users:manage"
	PermManageAccountSecurity Permission = "account:security"
	// PermManageStreams configures the streams that deliver the account's
	// events to SIEM tools (not in the seed's table).
	PermManageStreams Permission = "streams:manage"
	// PermManageRetention sets how long the account keeps its events
	// (owners only; not in the seed's table).
	PermManageRetention Permission = "account:retention"
)

// permissions is the role table of the seed, as data. A permission missing
// from a role's set is denied.
var permissions = map[Role]map[Permission]bool{
	RoleOwner: {
		PermViewAuditLogs: true, PermCreateUsers: true, PermViewUsers: true, PermViewAccount: true,
		PermWriteEvents: true, PermManageAPIKeys: true, PermManageUsers: true, PermManageAccountSecurity: true,
		PermManageAlerts: true, PermManageStreams: true, PermErasePersonalData: true,
		PermManageRetention: true,
	},
	RoleAdmin: {
		PermViewAuditLogs: true, PermCreateUsers: true, PermViewUsers: true, PermViewAccount: true,
		PermWriteEvents: true, PermManageAPIKeys: true, PermManageUsers: true, PermManageAlerts: true,
		PermManageStreams: true,
	},
	RoleAnalyst: {
		PermViewAccount: true,
	},
	RoleContentCreator: {
		PermViewAccount: true,
	},
}

// Can reports whether role r has permission p.
func (r Role) Can(p Permission) bool {
	return permissions[r][p]
}

// CanAssign reports whether a user with role r may give another user the role
// target. Owners may assign any role; admins may assign any role but owner, so
// that no admin can raise anyone, themselves included, above their own rank.
func (r Role) CanAssign(target Role) bool {
	switch r {
	case RoleOwner:
		return target.Valid()
	case RoleAdmin:
		return target.Valid() && target != RoleOwner
	}
	return false
}
