package policies

import (
	"maps"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/dagsec/dagsec/stages"
)

// HelperImageKey names dagsec's own small-job image in the policy's images
// mapping; the other keys are tool names.
const HelperImageKey = "helper"

// imageKeys lists the keys images accepts: the tools that run from an image,
// then the helper.
func imageKeys() []string {
	var out []string
	for _, n := range stages.ToolNames() {
		if t, _ := stages.LookupTool(n); t.Image != "" {
			out = append(out, n)
		}
	}
	return append(out, HelperImageKey)
}

// images reads the images mapping: tool name (or helper) to the image
// reference that replaces its pinned image.
func (p *parser) images(v *yaml.Node, raw *rawPolicy) {
	m := resolve(v)
	if isNull(m) {
		return // "images:" with nothing under it changes nothing
	}
	if m.Kind != yaml.MappingNode {
		p.errorf(v, "images: want a mapping of tool names to image references, got %s", describe(m))
		return
	}
	known := imageKeys()
	p.mapping(m, "in images", known, "known", func(key string, k, v *yaml.Node) bool {
		if !slices.Contains(known, key) {
			return false
		}
		at := "images." + key
		s, ok := p.str(v, at)
		if !ok {
			return true
		}
		switch {
		case s == "":
			p.errorf(v, "%s is empty (want an image reference such as registry.example/mirror/%s:TAG, or leave %s out for the pinned image)", at, key, key)
		case strings.Contains(s, "://"):
			p.errorf(v, "%s: want an image reference, not a URL (no scheme: registry/repository:tag), got %s", at, quote(s))
		case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
			p.errorf(v, "%s: an image reference has no whitespace, got %s", at, quote(s))
		default:
			if raw.images == nil {
				raw.images = map[string]string{}
			}
			raw.images[key] = s
		}
		return true
	})
}

// applyImages lays a file's images over the base's, key by key.
func applyImages(dst *map[string]string, file map[string]string) {
	if len(file) == 0 {
		return
	}
	out := maps.Clone(*dst)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, file)
	*dst = out
}

// marshalImages writes the images mapping, keys sorted so the output is stable.
func marshalImages(images map[string]string) *yaml.Node {
	m := mapNode()
	for _, k := range slices.Sorted(maps.Keys(images)) {
		addPair(m, k, strNode(images[k]))
	}
	return m
}
