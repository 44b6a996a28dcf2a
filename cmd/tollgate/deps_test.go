package main

import (
	"os/exec"
	"strings"
	"testing"
)

// tollgate must build fast from a cold cache (README: Quickstart; CI measures it): it links no
// AWS SDK service client, not the Grafana Foundation SDK and not go-redis (compiling it alone
// takes 1.2 GB of memory from a cold cache: the simulator's fleet strategy uses package fleet,
// which keeps go-redis in fleet/fleetredis). Commands that need them belong in cmd/tollgate-live.
func TestLinksNoSDKServiceClientGrafanaNorRedis(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/") || strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/config") ||
			strings.HasPrefix(pkg, "github.com/grafana/grafana-foundation-sdk/") || strings.HasPrefix(pkg, "github.com/redis/go-redis/") {
			t.Errorf("cmd/tollgate links %s: move the command that needs it to cmd/tollgate-live", pkg)
		}
	}
}
