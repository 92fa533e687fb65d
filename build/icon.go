// Package build holds the desktop app's assets: the icon (embedded here for the window), the
// Linux .desktop entry, and what Wails reads when packaging.
package build

import _ "embed"

// AppIcon is the 512×512 PNG app icon, drawn from frontend/static/icon.svg.
//
//go:embed appicon.png
var AppIcon []byte
