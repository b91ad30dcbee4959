package sarifio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"

	"github.com/owenrumney/go-sarif/v2/sarif"
)

// EncodeRuns is Encode of a log (sarif.New, as Merge makes) holding the
// runs runs yields: the same bytes, built one run at a time, so the log is
// never whole as objects. Pair it with Runs. A run's error stops it.
func EncodeRuns(runs iter.Seq2[*sarif.Run, error]) ([]byte, error) {
	log, err := sarif.New(sarif.Version210)
	if err != nil {
		return nil, err
	}
	frame, err := frameOf(log)
	if err != nil {
		return nil, err
	}
	enc := newCompactEncoder()
	var parts []encodedRun
	for run, err := range runs {
		if err != nil {
			return nil, err
		}
		e, err := encodeRun(enc, run)
		if err != nil {
			return nil, err
		}
		parts = append(parts, e)
	}
	return frame.encode(parts)
}

// encodedRun is one run of a file to be, as compact JSON.
type encodedRun struct {
	data    []byte
	name    string // runName, for errors
	results int
}

// encodeRun encodes run through enc, shared by a log's runs.
func encodeRun(enc *compactEncoder, run *sarif.Run) (encodedRun, error) {
	b, err := enc.encode(run)
	if err != nil {
		return encodedRun{}, err
	}
	data := bytes.Clone(bytes.TrimSuffix(b, []byte("\n")))
	return encodedRun{data: data, name: runName(run), results: len(run.Results)}, nil
}

// logFrame is a log's compact JSON around its runs: what comes before the
// first run and after the last.
type logFrame struct{ head, tail []byte }

// frameOf encodes log without its runs and cuts the JSON inside the empty
// top-level "runs" array, found with a decoder (a property could hold a
// "runs" key of its own).
func frameOf(log *sarif.Report) (logFrame, error) {
	env := *log
	env.Runs = []*sarif.Run{}
	data, err := newCompactEncoder().encode(&env)
	if err != nil {
		return logFrame{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return logFrame{}, fmt.Errorf("sarif: log is not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return logFrame{}, fmt.Errorf("sarif: %w", err)
		}
		if tok != "runs" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return logFrame{}, fmt.Errorf("sarif: %w", err)
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return logFrame{}, fmt.Errorf("sarif: log runs are not an array")
		}
		open := int(dec.InputOffset())
		if open >= len(data) || data[open] != ']' {
			return logFrame{}, fmt.Errorf("sarif: log runs are not empty")
		}
		return logFrame{head: data[:open], tail: data[open:]}, nil
	}
	return logFrame{}, fmt.Errorf("sarif: log has no runs")
}

// encode is Encode's output for the frame's log with runs.
func (f logFrame) encode(runs []encodedRun) ([]byte, error) {
	n := len(f.head) + len(f.tail) + len(runs)
	for _, r := range runs {
		n += len(r.data)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, f.head...)
	for i, r := range runs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, r.data...)
	}
	buf = append(buf, f.tail...)
	return finish(buf)
}
