set -e
cd /work/main
rm -rf migrations /tmp/migdb; mkdir -p /tmp/migdb
export UNSTRACT_DATA_DIR=/tmp/migdb
.venv/bin/flask --app wsgi db init -d migrations >/dev/null
.venv/bin/flask --app wsgi db migrate -m "initial schema" >/dev/null
ls migrations/versions
f=$(ls migrations/versions/*.py)
sed -i 's/unstract\.models\.base\.UTCDateTime(timezone=True)/sa.DateTime(timezone=True)/g' $f
grep -q "unstract\." $f && { echo "unresolved unstract types in migration"; exit 1; }
sed -i "s/astext_type=Text()/astext_type=sa.Text()/g" $f
echo ok
