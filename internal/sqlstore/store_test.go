package sqlstore_test

import (
	"testing"

	"github.com/auditlog/auditlog/internal/sqlstore/sqltest"
	"github.com/auditlog/auditlog/internal/sqlstore/storetest"
)

// TestConformance runs the store conformance suite on every engine this run
// reaches (see package sqltest for the environment variables).
func TestConformance(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			e.Require(t) // one skip for the engine, not one per test
			storetest.Run(t, e.Open)
		})
	}
}
