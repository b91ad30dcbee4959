package stages

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/command"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/dagsec/dagsec/findings"
)

// ImageLayer is one layer of an image: its diff id and the command of the
// history entry that made it.
type ImageLayer struct {
	DiffID    string
	CreatedBy string
}

// ImageLayers reads an OCI image config's layers in order: rootfs.diff_ids
// paired with the history entries that are not empty layers. A config whose
// history does not account for every layer gives the layers without their
// commands; one that is not JSON is an error.
func ImageLayers(config []byte) ([]ImageLayer, error) {
	var c struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
		History []struct {
			CreatedBy  string `json:"created_by"`
			EmptyLayer bool   `json:"empty_layer"`
		} `json:"history"`
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	var made []string
	for _, h := range c.History {
		if !h.EmptyLayer {
			made = append(made, h.CreatedBy)
		}
	}
	out := make([]ImageLayer, len(c.RootFS.DiffIDs))
	for i, d := range c.RootFS.DiffIDs {
		out[i].DiffID = d
		if len(made) == len(c.RootFS.DiffIDs) {
			out[i].CreatedBy = made[i]
		}
	}
	return out, nil
}

// ImageOrigins places findings about a built image at the Dockerfile it
// was built from: a layer at the instruction that brought it in, the
// image's user at the USER instruction in effect, a variable of its
// environment at the ENV or ARG that set it, the base image at the final
// stage's FROM. The zero value knows no Dockerfile and places nothing.
type ImageOrigins struct {
	dockerfile string
	from, user int
	byDiffID   map[string]int
	env        map[string]int
}

// NewImageOrigins reads the Dockerfile (path in the source, content) the
// image was built from, target its build stage ("" for the last), and
// pairs the image's layers with its instructions.
//
// The layers of the final stage's own RUN, COPY, ADD (and WORKDIR, when
// it made a directory) instructions, and of the stages it builds on (FROM
// an earlier stage), are the image's last layers, in order: they are
// paired from the last one back, as long as each layer's history command
// is the same kind of instruction (buildkit writes "RUN ...", "COPY ...",
// the classic builder "/bin/sh -c ..." and "#(nop) COPY ..."). Layers
// before the paired ones came with the base image: FROM. A layer that
// cannot be paired is placed at the Dockerfile's first line. An
// unreadable Dockerfile places everything there.
func NewImageOrigins(path string, content []byte, target string, layers []ImageLayer) ImageOrigins {
	o := ImageOrigins{dockerfile: path, from: 1, user: 1, byDiffID: map[string]int{}, env: map[string]int{}}
	if path == "" {
		return ImageOrigins{}
	}
	res, err := parseDockerfile(content)
	if err != nil {
		return o
	}
	df, err := readHardeningStages(res)
	if err != nil {
		return o
	}
	final := df.stages[len(df.stages)-1]
	if t := strings.ToLower(target); t != "" {
		for _, st := range df.stages {
			if st.name == t {
				final = st
			}
		}
	}
	// The chain of stages the image is made of, its base image's first.
	var chain []*hardeningStage
	for st := final; st != nil; st = df.parentOf(st) {
		chain = append([]*hardeningStage{st}, chain...)
	}
	o.from = chain[0].from.StartLine
	if u, _ := df.lastUser(final); u != nil {
		o.user = u.node.StartLine
	} else {
		o.user = final.from.StartLine
	}
	var made []*parser.Node
	for _, st := range chain {
		for _, n := range st.nodes {
			switch strings.ToLower(n.Value) {
			case command.Run, command.Copy, command.Add, command.Workdir:
				made = append(made, n)
			case command.Arg: // NAME or NAME=default, one word each
				for w := n.Next; w != nil; w = w.Next {
					key, _, _ := strings.Cut(w.Value, "=")
					o.env[key] = n.StartLine
				}
			case command.Env: // name, value and separator, per variable
				for w := n.Next; w != nil; w = w.Next {
					o.env[w.Value] = n.StartLine
					for skip := 0; skip < 2 && w.Next != nil; skip++ {
						w = w.Next
					}
				}
			}
		}
	}
	li, ni := len(layers)-1, len(made)-1
	for ; li >= 0 && ni >= 0; ni-- {
		kind := layerKind(layers[li].CreatedBy)
		n := strings.ToUpper(made[ni].Value)
		if kind == n {
			o.byDiffID[layers[li].DiffID] = made[ni].StartLine
			li--
			continue
		}
		if n != "WORKDIR" { // WORKDIR of an existing folder makes no layer
			break
		}
	}
	if ni < 0 {
		for ; li >= 0; li-- {
			o.byDiffID[layers[li].DiffID] = o.from
		}
	}
	return o
}

// layerKind is the instruction a history command was written for: RUN,
// COPY, ADD or WORKDIR; "" when it cannot be told.
func layerKind(createdBy string) string {
	s := strings.TrimSpace(createdBy)
	if rest, ok := strings.CutPrefix(s, "/bin/sh -c #(nop)"); ok {
		s = strings.TrimSpace(rest)
	} else if strings.HasPrefix(s, "/bin/sh -c ") {
		return "RUN"
	}
	word, _, _ := strings.Cut(s, " ")
	switch w := strings.ToUpper(word); w {
	case "RUN", "COPY", "ADD", "WORKDIR":
		return w
	}
	return ""
}

// Known reports whether the Dockerfile is known.
func (o ImageOrigins) Known() bool { return o.dockerfile != "" }

func (o ImageOrigins) at(line int) findings.Location {
	if o.dockerfile == "" {
		return findings.Location{}
	}
	return findings.Location{Path: o.dockerfile, Line: max(line, 1)}
}

// Layer is where the layer with the given diff id came from.
func (o ImageOrigins) Layer(diffID string) findings.Location { return o.at(o.byDiffID[diffID]) }

// From is the FROM of the base image.
func (o ImageOrigins) From() findings.Location { return o.at(o.from) }

// User is the USER instruction in effect, else the final stage's FROM.
func (o ImageOrigins) User() findings.Location { return o.at(o.user) }

// Env is the ENV or ARG that set a variable, else FROM: the base image's.
func (o ImageOrigins) Env(name string) findings.Location {
	if n, ok := o.env[name]; ok {
		return o.at(n)
	}
	return o.From()
}

// File is the Dockerfile itself, for what no instruction explains.
func (o ImageOrigins) File() findings.Location { return o.at(1) }
