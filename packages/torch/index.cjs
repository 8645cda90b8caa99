// The built addon of @genmodels/torch, and what its install-time build reported (genmodels reads both).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** This package's version: genmodels loads the addon only when it equals its own. */
exports.version = require('./package.json').version;

/** Where the install script puts the addon (present only when the build succeeded). */
exports.addonPath = path.join(__dirname, 'native', 'build', 'Release', 'torch_addon.node');

/** build-status.json written by the install script ({ ok, reason?, fix?, ... }), or null before it ran. */
exports.buildStatus = function buildStatus() {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, 'build-status.json'), 'utf8'));
  } catch {
    return null;
  }
};
