package middleware

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: tollgate starts none of its
// own, and every wait it makes ends with its call.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
