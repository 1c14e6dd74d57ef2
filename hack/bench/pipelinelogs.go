package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// measureLogLatency runs a job that prints a line carrying the time it was written (bash's
// $EPOCHREALTIME, the same clock as this process) every 200 ms, follows its log from before the
// first line, and records when each line arrives.
func measureLogLatency(ctx context.Context, srv *server, watch *runWatch) (*stat, error) {
	script := `sleep 1; for i in 1 2 3 4 5; do echo "BENCH-MARK $EPOCHREALTIME"; sleep 0.2; done`
	p, err := srv.shellPipeline("log", script)
	if err != nil {
		return nil, err
	}
	st := &stat{name: "log line written by a job → read on the follow endpoint"}
	for i := 0; i < pipeLogRuns; i++ {
		v, err := srv.startRun(p)
		if err != nil {
			return nil, err
		}
		job, err := jobOf(srv, v.ID)
		if err != nil {
			return nil, err
		}
		got, err := followMarks(ctx, srv, job)
		if err != nil {
			return nil, err
		}
		st.samples = append(st.samples, got...)
		wctx, cancel := context.WithTimeout(ctx, pipeRunTimeout)
		_, err = watch.wait(wctx, v.ID)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	if len(st.samples) == 0 {
		return nil, fmt.Errorf("no log line arrived on the follow endpoint")
	}
	return st, nil
}

// jobOf returns the id of the run's first job, once the run has its job rows.
func jobOf(srv *server, run int64) (int64, error) {
	deadline := time.Now().Add(pipeRunTimeout)
	for {
		b, err := srv.call(http.MethodGet, fmt.Sprintf("/api/v1/pipeline-runs/%d", run), nil)
		if err != nil {
			return 0, err
		}
		var v runView
		if err := json.Unmarshal(b, &v); err != nil {
			return 0, err
		}
		if len(v.Stages) > 0 && len(v.Stages[0].Jobs) > 0 && v.Stages[0].Jobs[0].ID != 0 {
			return v.Stages[0].Jobs[0].ID, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("run %d has no job: %s", run, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func followMarks(ctx context.Context, srv *server, job int64) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, pipeRunTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/v1/job-runs/%d/log?follow=true", srv.url, job), nil)
	req.Header.Set("Authorization", "Bearer "+srv.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("follow job %d: %d %s", job, resp.StatusCode, b)
	}
	var out []time.Duration
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && len(out) < pipeMarksPerRun {
		now := time.Now()
		_, mark, ok := strings.Cut(sc.Text(), "BENCH-MARK ")
		if !ok {
			continue
		}
		sec, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(mark), ",", "."), 64)
		if err != nil {
			return nil, fmt.Errorf("log line %q: %w", sc.Text(), err)
		}
		written := time.Unix(0, int64(sec*1e9))
		out = append(out, now.Sub(written))
	}
	if len(out) < pipeMarksPerRun {
		return nil, fmt.Errorf("follow job %d: %d of %d lines arrived (%v)", job, len(out), pipeMarksPerRun, sc.Err())
	}
	return out, nil
}

// measureEmbedded starts the all-in-one server (embedded database, in-process bus, controllers
// and a local spacelet), reads its memory once idle, runs a shell job through it, and reads it
// again once idle.
