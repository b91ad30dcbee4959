package stages

import (
	"embed"
	"path"
)

// npmPackages holds, per npm tool, the package.json and package-lock.json
// that pin it and every dependency (Tool.NPM).
//
//go:embed npm/*/package.json npm/*/package-lock.json
var npmPackages embed.FS

// npmFiles returns an npm tool's package.json and package-lock.json by name.
func npmFiles(tool string) map[string][]byte {
	out := map[string][]byte{}
	for _, name := range []string{"package.json", "package-lock.json"} {
		data, err := npmPackages.ReadFile(path.Join("npm", tool, name))
		if err != nil {
			panic("stages: npm package of " + tool + ": " + err.Error())
		}
		out[name] = data
	}
	return out
}

// NPMFiles is the package.json and package-lock.json an npm tool installs from.
func NPMFiles(t Tool) map[string][]byte {
	if t.NPM == "" {
		return nil
	}
	return npmFiles(t.NPM)
}
