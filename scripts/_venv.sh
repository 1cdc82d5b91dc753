# Sourced by scripts/serve and scripts/test: create .venv and install the project into it
# (again only when pyproject.toml changed), then activate it.
ensure_venv() {
    local extra="$1"
    local python="${PYTHON:-python3}"
    if [ ! -x .venv/bin/python ]; then
        "$python" -m venv .venv
    fi
    # shellcheck disable=SC1091
    . .venv/bin/activate
    local stamp=".venv/.installed-$extra"
    local want
    want="$(sha256sum pyproject.toml | cut -c1-64)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        python -m pip install --quiet --upgrade pip
        if [ "$extra" = "none" ]; then
            python -m pip install --quiet -e .
        else
            python -m pip install --quiet -e ".[$extra]"
        fi
        echo "$want" > "$stamp"
    fi
}
