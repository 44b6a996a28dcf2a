// Command genops writes limiter/data/operations/<ServiceID>.txt: the operation names of each AWS
// service the default rules cover, read from the aws-sdk-go-v2 service module the project
// requires (one api_op_<Operation>.go file per operation). The limiter uses these lists to reject
// a rule whose operation glob matches no known operation.
//
// Run it from the limiter directory with `go generate`; it needs the modules in the module cache
// (`go mod download`).
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// modules are the SDK service modules whose operation lists are written.
var modules = []string{
	"github.com/aws/aws-sdk-go-v2/service/dynamodb",
	"github.com/aws/aws-sdk-go-v2/service/ec2",
	"github.com/aws/aws-sdk-go-v2/service/kms",
	"github.com/aws/aws-sdk-go-v2/service/lambda",
	"github.com/aws/aws-sdk-go-v2/service/s3",
	"github.com/aws/aws-sdk-go-v2/service/sts",
}

var serviceIDRe = regexp.MustCompile(`const ServiceID = "([^"]+)"`)

func main() {
	if err := run("data/operations"); err != nil {
		fmt.Fprintln(os.Stderr, "genops:", err)
		os.Exit(1)
	}
}

func run(outDir string) error {
	for _, mod := range modules {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", mod).Output()
		if err != nil {
			return fmt.Errorf("go list -m %s: %w", mod, err)
		}
		dir, version, ok := strings.Cut(strings.TrimSpace(string(out)), " ")
		if !ok || dir == "" {
			return fmt.Errorf("module %s is not in the module cache; run go mod download", mod)
		}
		client, err := os.ReadFile(filepath.Join(dir, "api_client.go"))
		if err != nil {
			return err
		}
		m := serviceIDRe.FindSubmatch(client)
		if m == nil {
			return fmt.Errorf("%s: no ServiceID constant in api_client.go", mod)
		}
		id := string(m[1])
		files, err := filepath.Glob(filepath.Join(dir, "api_op_*.go"))
		if err != nil {
			return err
		}
		ops := make([]string, 0, len(files))
		for _, f := range files {
			ops = append(ops, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "api_op_"), ".go"))
		}
		sort.Strings(ops)
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "# Operations of AWS service %s, one per line.\n", id)
		fmt.Fprintf(&buf, "# source: %s %s (api_op_*.go), written by limiter/internal/genops.\n", mod, version)
		for _, op := range ops {
			buf.WriteString(op)
			buf.WriteByte('\n')
		}
		if err := os.WriteFile(filepath.Join(outDir, id+".txt"), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
