package fleet

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

var discardLogger = slog.New(slog.DiscardHandler)

// quietRedis drops go-redis's own log lines (dial failures while a test has killed the
// server) so that test output shows what the tests say.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietRedis{})
	os.Exit(m.Run())
}
