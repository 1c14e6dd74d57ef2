package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

type stat struct {
	name, path string
	samples    []time.Duration
	note       string
}

func (s *stat) pct(p float64) time.Duration {
	d := append([]time.Duration(nil), s.samples...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*p)]
}

type results struct {
	stats   []*stat
	peakRSS int64
	items   int
}

func (r *results) markdown(pods int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run at %s with %d pods.\n\n", time.Now().UTC().Format(time.RFC3339), pods)
	b.WriteString("| measurement | path | samples | p50 | p90 | note |\n|---|---|---|---|---|---|\n")
	for _, s := range r.stats {
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s |\n", s.name, s.path, len(s.samples), ms(s.pct(0.5)), ms(s.pct(0.9)), s.note)
	}
	fmt.Fprintf(&b, "\nPeak resident memory of the KubeSpace server while four full lists ran at once: **%.0f MB** (goal ≤ 300 MB).\n", float64(r.peakRSS)/1e6)
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func timeIt(n int, f func() error) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := f(); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// get fetches a URL and reads the whole body (what a client must do to use it).
func get(client *http.Client, u, token string) (int, error) {
	req, _ := http.NewRequest("GET", u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	return int(n), err
}

// fullList pages through the cached list and returns how many pods it saw. Like the raw
// baseline it reads every byte but does not decode the items: the page's tail
// ({"total","continue"}) is all it needs.
func (s *server) fullList(client *http.Client) (int, error) {
	cont, seen := "", 0
	for {
		u := s.url + "/api/v1/clusters/1/resources/pods?limit=1000&sort=name"
		if cont != "" {
			u += "&continue=" + url.QueryEscape(cont)
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		i := bytes.LastIndex(body, []byte(`],"total":`))
		if resp.StatusCode != 200 || i < 0 {
			return 0, fmt.Errorf("list page: %d %.200s", resp.StatusCode, body)
		}
		var tail struct {
			Continue string `json:"continue"`
		}
		if err := json.Unmarshal(append([]byte("{"), body[i+2:]...), &tail); err != nil {
			return 0, err
		}
		seen += bytes.Count(body[:i], []byte(`{"apiVersion":"v1","kind":"Pod"`))
		if tail.Continue == "" {
			return seen, nil
		}
		cont = tail.Continue
	}
}

func measure(ctx context.Context, c *cluster, s *server, pods int) (*results, error) {
	client := &http.Client{}
	res := &results{}
	logf("warming the cache (first list starts the informer)")
	n, err := s.fullList(client)
	if err != nil {
		return nil, err
	}
	if n < pods {
		return nil, fmt.Errorf("cached list returned %d pods, want at least %d", n, pods)
	}
	first := &stat{name: "KubeSpace cached list, first page (100, sorted by name)", path: "GET /api/v1/clusters/1/resources/pods?limit=100&sort=name"}
	if first.samples, err = timeIt(50, func() error {
		_, err := get(client, s.url+"/api/v1/clusters/1/resources/pods?limit=100&sort=name", s.token)
		return err
	}); err != nil {
		return nil, err
	}
	first.note = "goal ≤ 20 ms p50"
	full := &stat{name: "KubeSpace cached list, full (all pages of 1,000)", path: "GET …/resources/pods?limit=1000 + continue", note: "goal ≤ 300 ms p50"}
	if full.samples, err = timeIt(10, func() error { _, err := s.fullList(client); return err }); err != nil {
		return nil, err
	}
	raw := &stat{name: "kube-apiserver raw list (baseline)", path: "GET /api/v1/pods (direct, admin certificate)"}
	direct, err := rest.HTTPClientFor(c.config)
	if err != nil {
		return nil, err
	}
	var size int
	if raw.samples, err = timeIt(5, func() error {
		var err error
		size, err = get(direct, strings.TrimRight(c.config.Host, "/")+"/api/v1/pods", "")
		return err
	}); err != nil {
		return nil, err
	}
	raw.note = fmt.Sprintf("%.1f MB response", float64(size)/1e6)
	kubectl := &stat{name: "kubectl get pods -A (baseline)", path: "kubectl 1.37.2, direct"}
	if kubectl.samples, err = timeIt(3, func() error {
		cmd := exec.CommandContext(ctx, c.kubectl, "--kubeconfig", c.kubeconfig, "get", "pods", "-A", "--no-headers")
		cmd.Stdout = io.Discard
		return cmd.Run()
	}); err != nil {
		return nil, err
	}
	res.stats = []*stat{first, full, raw, kubectl}

	logf("measuring peak memory under four concurrent full lists")
	if err := s.resetPeak(); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.fullList(&http.Client{}); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	if res.peakRSS, err = s.peakRSS(); err != nil {
		return nil, err
	}
	return res, nil
}
