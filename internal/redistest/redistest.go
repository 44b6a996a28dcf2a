// Package redistest runs real redis-server processes for tests: a single server or a Redis
// Cluster, on ephemeral 127.0.0.1 ports, without persistence, stopped when the test ends. A test
// that needs one skips with a one-line reason when redis-server is not on PATH, and fails
// instead when TOLLGATE_REQUIRE_INTEGRATION=1 (as CI sets it).
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Require returns the path of name (redis-server, redis-cli), or skips the test — fails it
// under TOLLGATE_REQUIRE_INTEGRATION=1 — when it is not on PATH.
func Require(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("TOLLGATE_REQUIRE_INTEGRATION") == "1" {
		t.Fatalf("%s not on PATH and TOLLGATE_REQUIRE_INTEGRATION=1: install Debian's redis-server package", name)
	}
	t.Skipf("%s not on PATH: install Debian's redis-server package (apt-get install redis-server)", name)
	return ""
}

// Server is one redis-server process on a loopback port. Kill and Restart let a test take it
// away and bring it back on the same port, as an outage and a restart without persistence.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	logs   []string
}

// Start runs redis-server on a free 127.0.0.1 port with no persistence (its state lives only in
// memory, so a restart loses it) and extra args, waits until it answers PING and stops it when
// the test ends.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin := Require(t, "redis-server")
	s := &Server{t: t, bin: bin, dir: t.TempDir(), args: extra}
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			t.Fatal(err)
		}
		if err = s.start(); err == nil {
			t.Cleanup(s.Kill)
			return s
		}
	}
	t.Fatalf("redistest: redis-server did not start: %v", err)
	return nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.port }

// Client returns a go-redis client for the server, closed when the test ends (without a
// password: for a server started with --requirepass, make your own).
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	s.t.Cleanup(func() { c.Close() })
	return c
}

func (s *Server) start() error {
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no", "--loglevel", "warning", "--protected-mode", "no",
	}, s.args...)
	cmd := exec.Command(s.bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.mu.Lock()
			s.logs = append(s.logs, sc.Text())
			s.mu.Unlock()
		}
		cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	if err := waitPing(s.Addr(), exited, 20*time.Second); err != nil {
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%w; log:\n%s", err, s.log())
	}
	return nil
}

func (s *Server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.logs, "\n")
}

// Kill stops the server at once (SIGKILL), as a crash: its memory, and so every key, is gone.
// Killing a stopped server does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// Restart starts the server again on the same port after Kill, empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	var err error
	for range 50 { // the port may linger briefly after the kill
		if err = s.start(); err == nil {
			return
		}
	}
	s.t.Fatalf("redistest: restart on port %d: %v", s.port, err)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitPing polls addr with PING until it answers PONG, the process exits or timeout passes.
func waitPing(addr string, exited <-chan struct{}, timeout time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.After(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil || (err != nil && strings.HasPrefix(err.Error(), "NOAUTH")) {
			return nil // up (a server started with --requirepass answers NOAUTH)
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited at start", addr)
		case <-deadline:
			return fmt.Errorf("redis-server on %s: no PONG after %v: %v", addr, timeout, err)
		case <-tick.C:
		}
	}
}

// Cluster is a Redis Cluster of masters without replicas, each a Server.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts n redis-server processes in cluster mode on free loopback ports and joins
// them into one cluster with redis-cli --cluster create (slots spread evenly, no replicas),
// waiting until every node reports cluster_state:ok.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	cli := Require(t, "redis-cli")
	c := &Cluster{}
	for range n {
		dir := t.TempDir()
		c.Nodes = append(c.Nodes, Start(t, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "5000"))
	}
	args := []string{"--cluster", "create"}
	for _, s := range c.Nodes {
		args = append(args, s.Addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for _, s := range c.Nodes {
		rc := s.Client()
		for {
			info, err := rc.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			select {
			case <-deadline:
				t.Fatalf("redistest: cluster not ok after 30s: %v %s", err, info)
			case <-tick.C:
			}
		}
	}
	return c
}

// Client returns a go-redis cluster client for the cluster, closed when the test ends.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	var addrs []string
	for _, s := range c.Nodes {
		addrs = append(addrs, s.Addr())
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { cc.Close() })
	return cc
}
