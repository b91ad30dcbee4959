package stages_test

import (
	"encoding/json"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// A multi-stage Dockerfile whose final stage builds on an earlier one.
const layersDockerfile = `# syntax=docker/dockerfile:1
FROM golang:1.26 AS build
WORKDIR /src
COPY . .
RUN go build -o /out/app .

FROM debian:12-slim AS runtime
ARG VERSION=dev
ENV APP_HOME=/app LOG_LEVEL=info
RUN apt-get update && apt-get install -y ca-certificates
WORKDIR /app

FROM runtime AS final
COPY --from=build /out/app /app/app
USER 10001
CMD ["/app/app"]

FROM final AS debug
RUN apt-get install -y strace
`

// layerConfig is an image config with one layer per command, in order.
func layerConfig(t *testing.T, commands ...string) []byte {
	t.Helper()
	var ids []string
	var hist []map[string]any
	for i, c := range commands {
		ids = append(ids, "sha256:layer"+string(rune('a'+i)))
		hist = append(hist, map[string]any{"created_by": c})
		hist = append(hist, map[string]any{"created_by": "ENV X=1", "empty_layer": true})
	}
	b, err := json.Marshal(map[string]any{"rootfs": map[string]any{"diff_ids": ids}, "history": hist})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImageOriginsPairLayersWithInstructions(t *testing.T) {
	base := []string{"/bin/sh -c #(nop) ADD file:9f1 in / ", "/bin/sh -c apt-get update"}
	for _, tc := range []struct {
		name     string
		target   string
		commands []string
		want     map[string]int // diff id → line
	}{
		{"buildkit, final stage chain", "final", append(base,
			"RUN /bin/sh -c apt-get update && apt-get install -y ca-certificates # buildkit",
			"WORKDIR /app",
			"COPY /out/app /app/app # buildkit"),
			map[string]int{"sha256:layera": 7, "sha256:layerb": 7, "sha256:layerc": 10, "sha256:layerd": 11, "sha256:layere": 14}},
		{"WORKDIR of an existing folder makes no layer", "final", append(base,
			"RUN /bin/sh -c apt-get update && apt-get install -y ca-certificates # buildkit",
			"COPY /out/app /app/app # buildkit"),
			map[string]int{"sha256:layera": 7, "sha256:layerb": 7, "sha256:layerc": 10, "sha256:layerd": 14}},
		{"classic builder", "final", append(base,
			"/bin/sh -c apt-get update && apt-get install -y ca-certificates",
			"/bin/sh -c #(nop) WORKDIR /app",
			"/bin/sh -c #(nop) COPY file:abc in /app/app "),
			map[string]int{"sha256:layera": 7, "sha256:layerb": 7, "sha256:layerc": 10, "sha256:layerd": 11, "sha256:layere": 14}},
		{"the last stage without a target", "", append(base,
			"RUN /bin/sh -c apt-get update && apt-get install -y ca-certificates # buildkit",
			"COPY /out/app /app/app # buildkit",
			"RUN /bin/sh -c apt-get install -y strace # buildkit"),
			map[string]int{"sha256:layera": 7, "sha256:layerb": 7, "sha256:layerc": 10, "sha256:layerd": 14, "sha256:layere": 19}},
		// A history that does not fit the Dockerfile: what cannot be
		// paired is at the file's first line, not guessed.
		{"another Dockerfile's image", "final", append(base, "COPY x /x # buildkit", "COPY y /y # buildkit", "COPY z /z # buildkit"),
			map[string]int{"sha256:layera": 1, "sha256:layerb": 1, "sha256:layerc": 1, "sha256:layerd": 1, "sha256:layere": 14}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			layers, err := stages.ImageLayers(layerConfig(t, tc.commands...))
			if err != nil {
				t.Fatal(err)
			}
			o := stages.NewImageOrigins("deploy/Dockerfile", []byte(layersDockerfile), tc.target, layers)
			for id, line := range tc.want {
				if got := o.Layer(id); got != (findings.Location{Path: "deploy/Dockerfile", Line: line}) {
					t.Errorf("layer %s at %+v, want line %d", id, got, line)
				}
			}
			if got := o.Layer("sha256:unknown"); got.Line != 1 {
				t.Errorf("an unknown layer at %+v, want the first line", got)
			}
		})
	}
}

func TestImageOriginsInstructions(t *testing.T) {
	o := stages.NewImageOrigins("Dockerfile", []byte(layersDockerfile), "final", nil)
	for _, tc := range []struct {
		name string
		got  findings.Location
		line int
	}{
		{"base image", o.From(), 7},
		{"user", o.User(), 15},
		{"ARG", o.Env("VERSION"), 8},
		{"ENV, first of two", o.Env("APP_HOME"), 9},
		{"ENV, second of two", o.Env("LOG_LEVEL"), 9},
		{"from the base image", o.Env("PATH"), 7},
		{"a value is no variable", o.Env("info"), 7},
		{"the file", o.File(), 1},
	} {
		if tc.got != (findings.Location{Path: "Dockerfile", Line: tc.line}) {
			t.Errorf("%s at %+v, want line %d", tc.name, tc.got, tc.line)
		}
	}
	// The runtime stage sets no USER: root comes from its FROM.
	if got := stages.NewImageOrigins("Dockerfile", []byte(layersDockerfile), "runtime", nil).User(); got.Line != 7 {
		t.Errorf("runtime user at %+v, want its FROM", got)
	}
	// No Dockerfile: nothing is placed; an unreadable one: its first line.
	if o := stages.NewImageOrigins("", []byte(layersDockerfile), "", nil); o.Known() || o.From() != (findings.Location{}) {
		t.Errorf("no Dockerfile placed findings at %+v", o.From())
	}
	if got := stages.NewImageOrigins("Dockerfile", []byte("RUN before FROM\n"), "", nil).From(); got != (findings.Location{Path: "Dockerfile", Line: 1}) {
		t.Errorf("unreadable Dockerfile: %+v", got)
	}
}

func TestImageLayersReadsConfigs(t *testing.T) {
	layers, err := stages.ImageLayers(layerConfig(t, "COPY a /a # buildkit", "RUN x # buildkit"))
	if err != nil || len(layers) != 2 || layers[1] != (stages.ImageLayer{DiffID: "sha256:layerb", CreatedBy: "RUN x # buildkit"}) {
		t.Fatalf("layers %+v, %v", layers, err)
	}
	// A history that does not account for every layer names none.
	layers, err = stages.ImageLayers([]byte(`{"rootfs":{"diff_ids":["sha256:a","sha256:b"]},"history":[{"created_by":"RUN x"}]}`))
	if err != nil || len(layers) != 2 || layers[0].CreatedBy != "" {
		t.Fatalf("layers %+v, %v", layers, err)
	}
	if _, err := stages.ImageLayers([]byte("not json")); err == nil {
		t.Error("garbage config accepted")
	}
}
