package audit

import "testing"

// TestRoleTable checks the seed's role table cell by cell.
func TestRoleTable(t *testing.T) {
	table := []struct {
		perm                                Permission
		owner, admin, analyst, contentMaker bool
	}{
		{PermViewAuditLogs, true, true, false, false},
		{PermCreateUsers, true, true, false, false},
		{PermViewUsers, true, true, false, false},
		{PermViewAccount, true, true, true, true},
		{PermManageAlerts, true, true, false, false},
		{PermManageStreams, true, true, false, false},
	}
	for _, row := range table {
		for role, want := range map[Role]bool{
			RoleOwner: row.owner, RoleAdmin: row.admin, RoleAnalyst: row.analyst, RoleContentCreator: row.contentMaker,
		} {
			if got := role.Can(row.perm); got != want {
				t.Errorf("%s.Can(%s) = %v; want %v", role, row.perm, got, want)
			}
		}
	}
	if Role("root").Can(PermViewAccount) {
		t.Error("an unknown role has a permission")
	}
}

func TestCanAssign(t *testing.T) {
	for _, tt := range []struct {
		actor, target Role
		want          bool
	}{
		{RoleOwner, RoleOwner, true},
		{RoleOwner, RoleContentCreator, true},
		{RoleAdmin, RoleOwner, false},
		{RoleAdmin, RoleAdmin, true},
		{RoleAdmin, RoleAnalyst, true},
		{RoleAnalyst, RoleAnalyst, false},
		{RoleContentCreator, RoleContentCreator, false},
		{RoleOwner, Role("root"), false},
	} {
		if got := tt.actor.CanAssign(tt.target); got != tt.want {
			t.Errorf("%s.CanAssign(%s) = %v; want %v", tt.actor, tt.target, got, tt.want)
		}
	}
}
