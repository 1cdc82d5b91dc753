"""Static files in production: hashed names (cached for a year), gzip and brotli copies."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    # The scan page's ES modules import each other ("./api.js"): rewrite those imports to
    # the hashed names too, so a new release never mixes with a cached old module.
    support_js_module_import_aggregation = True
