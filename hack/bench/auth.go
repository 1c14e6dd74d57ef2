package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

const (
	authClients  = 50
	authDuration = 10 * time.Second
)

// loadResult is what a closed-loop load of one path produced.
type loadResult struct {
	requests  int
	errors    int
	elapsed   time.Duration
	latencies []time.Duration
}

func (r loadResult) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r loadResult) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	d := append([]time.Duration(nil), r.latencies...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*p)]
}

// load runs clients concurrent loops of GET path for d and records every latency.
func load(ctx context.Context, s *server, path string, clients int, d time.Duration) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	transport := &http.Transport{MaxIdleConnsPerHost: clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	var mu sync.Mutex
	res := loadResult{}
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			errors := 0
			for ctx.Err() == nil {
				t0 := time.Now()
				if _, err := get(client, s.url+path, s.token); err != nil {
					if ctx.Err() != nil {
						break
					}
					errors++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			res.latencies = append(res.latencies, mine...)
			res.errors += errors
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.requests = len(res.latencies)
	return res
}

// benchDatabase creates a MariaDB/MySQL database for one server (KUBESPACE_BENCH_MYSQL_DSN,
// default the local MariaDB as root) and returns the server's environment and a cleanup.
func benchDatabase() ([]string, func(), error) {
	dsn := os.Getenv("KUBESPACE_BENCH_MYSQL_DSN")
	if dsn == "" {
		dsn = "root:@tcp(127.0.0.1:3306)/"
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("KUBESPACE_BENCH_MYSQL_DSN: %w", err)
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, nil, err
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "kubespace_bench_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		_ = db.Close()
		return nil, nil, fmt.Errorf("create benchmark database (is MariaDB running? hack/deps.sh mariadb): %w", err)
	}
	host, port, _ := net.SplitHostPort(cfg.Addr)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	redis := os.Getenv("KUBESPACE_BENCH_REDIS")
	if redis == "" {
		redis = "127.0.0.1:6379"
	}
	env := []string{"MYSQL_HOST=" + host, "MYSQL_PORT=" + port, "MYSQL_USER=" + cfg.User, "MYSQL_PASSWORD=" + cfg.Passwd,
		"MYSQL_DBNAME=" + name, "REDIS_ADDRESS=" + redis, "SECRET_KEY=" + base64.StdEncoding.EncodeToString(key)}
	return env, func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name)
		_ = db.Close()
	}, nil
}

// measureAuth compares authenticated requests with the per-process cache of credentials and role
// bindings off (AUTH_CACHE_TTL=0: a session, a user and a role-binding query per request) and on,
// on MariaDB and Redis with 50 concurrent clients.
func measureAuth(ctx context.Context, kubeconfig string) (string, error) {
	paths := []struct{ name, path string }{
		{"GET /api/v1/users/me", "/api/v1/users/me"},
		{"cached cluster list", "/api/v1/clusters/1/resources/namespaces?limit=100"},
	}
	modes := []struct{ name, ttl string }{{"before (AUTH_CACHE_TTL=0)", "0"}, {"after (cache on)", "10s"}}
	results := map[string]map[string]loadResult{}
	for _, m := range modes {
		env, drop, err := benchDatabase()
		if err != nil {
			return "", err
		}
		logf("authenticated load, %s", m.name)
		srv, err := startServer(ctx, append(env, "AUTH_CACHE_TTL="+m.ttl)...)
		if err != nil {
			drop()
			return "", err
		}
		err = srv.importCluster(ctx, kubeconfig)
		if err == nil {
			_, err = srv.call("GET", paths[1].path, nil) // starts the informer
		}
		if err != nil {
			srv.stop()
			drop()
			return "", err
		}
		results[m.name] = map[string]loadResult{}
		for _, p := range paths {
			results[m.name][p.name] = load(ctx, srv, p.path, authClients, authDuration)
		}
		srv.stop()
		drop()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d concurrent clients for %s each, one server process on MariaDB and Redis. Goal (issue #6): "+
		"≥ 3× the requests per second with the cache, p99 ≤ 20 ms.\n\n", authClients, authDuration)
	b.WriteString("| request | mode | requests/s | p50 | p99 | errors | speed-up |\n|---|---|---|---|---|---|---|\n")
	for _, p := range paths {
		base := results[modes[0].name][p.name].rps()
		for _, m := range modes {
			r := results[m.name][p.name]
			fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s | %d | %.1f× |\n", p.name, m.name, r.rps(), ms(r.pct(0.5)), ms(r.pct(0.99)),
				r.errors, r.rps()/base)
		}
	}
	return b.String(), nil
}
