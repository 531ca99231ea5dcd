"""Hand-written boilerplate per language: code everybody writes, which must never alert.

Each list is split in two by the benches: the first half tunes thresholds, the second half is
held out. Written for the bench (not copied from any project): the idioms are what matters.
"""

from __future__ import annotations

from egress_watch.classify.proprietary.tokenize import GO, JS, PYTHON

PY = [
    'if __name__ == "__main__":\n    main()\n',
    "import socket\n\nsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
    'sock.connect(("localhost", 8080))\nsock.sendall(b"ping")\ndata = sock.recv(1024)\n'
    "sock.close()\n",
    "def main() -> None:\n    parser = argparse.ArgumentParser(description=__doc__)\n"
    '    parser.add_argument("path", help="file to read")\n'
    '    parser.add_argument("-v", "--verbose", action="store_true")\n'
    "    args = parser.parse_args()\n    run(args.path, verbose=args.verbose)\n",
    "logging.basicConfig(\n    level=logging.INFO,\n"
    '    format="%(asctime)s %(levelname)s %(name)s: %(message)s",\n)\n'
    "logger = logging.getLogger(__name__)\n",
    "@pytest.fixture\ndef client(app):\n    return app.test_client()\n\n\n"
    "@pytest.fixture\ndef runner(app):\n    return app.test_cli_runner()\n",
    'with open(path, "r", encoding="utf-8") as f:\n    data = json.load(f)\n'
    'for item in data["items"]:\n    print(item["name"], item["value"])\n',
    "class Config:\n    def __init__(self, path):\n        self.path = path\n"
    "        self.values = {}\n\n    def get(self, key, default=None):\n"
    "        return self.values.get(key, default)\n",
    "try:\n    response = requests.get(url, timeout=10)\n    response.raise_for_status()\n"
    "except requests.RequestException as exc:\n"
    '    logger.error("request failed: %s", exc)\n    raise\n',
    '@app.route("/health")\ndef health():\n    return jsonify(status="ok")\n\n\n'
    '@app.route("/users/<int:user_id>")\ndef get_user(user_id):\n'
    "    user = User.query.get_or_404(user_id)\n    return jsonify(user.to_dict())\n",
    'def __repr__(self):\n    return f"{self.__class__.__name__}({self.name!r})"\n\n'
    "def __eq__(self, other):\n    if not isinstance(other, type(self)):\n"
    "        return NotImplemented\n    return self.name == other.name\n",
    "async def handler(request):\n    body = await request.json()\n"
    '    return web.json_response({"received": body})\n\n\n'
    'app = web.Application()\napp.router.add_post("/echo", handler)\nweb.run_app(app)\n',
    '@pytest.mark.parametrize(\n    "value, expected",\n'
    '    [\n        ("", 0),\n        ("a", 1),\n        ("ab", 2),\n    ],\n)\n'
    "def test_length(value, expected):\n    assert len(value) == expected\n",
    "for root, dirs, files in os.walk(base):\n    for name in files:\n"
    '        if name.endswith(".py"):\n            paths.append(os.path.join(root, name))\n',
    "class Handler(BaseHTTPRequestHandler):\n    def do_GET(self):\n"
    "        self.send_response(200)\n"
    '        self.send_header("Content-Type", "text/plain")\n        self.end_headers()\n'
    '        self.wfile.write(b"ok")\n',
    "def setUp(self):\n    self.tmp = tempfile.mkdtemp()\n\ndef tearDown(self):\n"
    "    shutil.rmtree(self.tmp)\n",
    "@dataclass\nclass Point:\n    x: float\n    y: float\n\n"
    "    def distance(self, other: Point) -> float:\n"
    "        return math.hypot(self.x - other.x, self.y - other.y)\n",
]

GO_SNIPPETS = [
    "tests := []struct {\n\tname string\n\tinput string\n\twant int\n}{\n"
    '\t{"empty", "", 0},\n\t{"one", "a", 1},\n}\nfor _, tt := range tests {\n'
    "\tt.Run(tt.name, func(t *testing.T) {\n\t\tif got := Len(tt.input); got != tt.want {\n"
    '\t\t\tt.Errorf("Len(%q) = %d, want %d", tt.input, got, tt.want)\n\t\t}\n\t})\n}\n',
    "resp, err := http.Get(url)\nif err != nil {\n\treturn nil, err\n}\n"
    "defer resp.Body.Close()\nbody, err := io.ReadAll(resp.Body)\nif err != nil {\n"
    "\treturn nil, err\n}\n",
    'func main() {\n\thttp.HandleFunc("/", handler)\n'
    '\tlog.Fatal(http.ListenAndServe(":8080", nil))\n}\n',
    "func (s *Server) Name() string {\n\treturn s.name\n}\n",
    "if err := json.NewDecoder(r.Body).Decode(&req); err != nil {\n"
    "\thttp.Error(w, err.Error(), http.StatusBadRequest)\n\treturn\n}\n",
    "ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)\ndefer cancel()\n",
    "var wg sync.WaitGroup\nfor i := 0; i < n; i++ {\n\twg.Add(1)\n\tgo func(i int) {\n"
    "\t\tdefer wg.Done()\n\t\twork(i)\n\t}(i)\n}\nwg.Wait()\n",
    'type Config struct {\n\tHost string `json:"host"`\n\tPort int    `json:"port"`\n}\n',
    "f, err := os.Open(path)\nif err != nil {\n"
    '\treturn fmt.Errorf("open %s: %w", path, err)\n}\ndefer f.Close()\n'
    "scanner := bufio.NewScanner(f)\nfor scanner.Scan() {\n"
    "\tlines = append(lines, scanner.Text())\n}\n",
    "func (s *Store) Get(key string) (string, bool) {\n\ts.mu.RLock()\n"
    "\tdefer s.mu.RUnlock()\n\tv, ok := s.data[key]\n\treturn v, ok\n}\n",
    "func TestHandler(t *testing.T) {\n"
    '\treq := httptest.NewRequest(http.MethodGet, "/", nil)\n'
    "\trec := httptest.NewRecorder()\n\thandler(rec, req)\n"
    "\tif rec.Code != http.StatusOK {\n"
    '\t\tt.Fatalf("status = %d, want %d", rec.Code, http.StatusOK)\n\t}\n}\n',
    "func New(opts ...Option) *Client {\n\tc := &Client{timeout: defaultTimeout}\n"
    "\tfor _, opt := range opts {\n\t\topt(c)\n\t}\n\treturn c\n}\n",
    'w.Header().Set("Content-Type", "application/json")\nw.WriteHeader(http.StatusOK)\n'
    "if err := json.NewEncoder(w).Encode(resp); err != nil {\n"
    '\tlog.Printf("encode: %v", err)\n}\n',
    "select {\ncase <-ctx.Done():\n\treturn ctx.Err()\ncase msg := <-ch:\n"
    "\treturn handle(msg)\n}\n",
    "func (e *Error) Error() string {\n"
    '\treturn fmt.Sprintf("%s: %v", e.Op, e.Err)\n}\n\n'
    "func (e *Error) Unwrap() error {\n\treturn e.Err\n}\n",
    "sort.Slice(items, func(i, j int) bool {\n\treturn items[i].Name < items[j].Name\n})\n",
]

JS_SNIPPETS = [
    "process.on('unhandledRejection', (err) => {\n  console.error(err)\n  process.exit(1)\n})\n",
    "const express = require('express')\nconst app = express()\n"
    "app.use(express.json())\napp.get('/', (req, res) => {\n  res.send('ok')\n})\n"
    "app.listen(3000, () => console.log('listening on 3000'))\n",
    "describe('sum', () => {\n  it('adds two numbers', () => {\n"
    "    expect(sum(1, 2)).toBe(3)\n  })\n\n  it('handles zero', () => {\n"
    "    expect(sum(0, 0)).toBe(0)\n  })\n})\n",
    "module.exports = {\n  entry: './src/index.js',\n  output: {\n"
    "    path: path.resolve(__dirname, 'dist'),\n    filename: 'bundle.js',\n  },\n}\n",
    "async function fetchJson (url) {\n  const res = await fetch(url)\n"
    "  if (!res.ok) {\n    throw new Error(`HTTP ${res.status}`)\n  }\n  return res.json()\n}\n",
    "fs.readFile(file, 'utf8', (err, data) => {\n  if (err) {\n    return callback(err)\n"
    "  }\n  callback(null, JSON.parse(data))\n})\n",
    "class EventEmitter {\n  constructor () {\n    this.listeners = {}\n  }\n\n"
    "  on (event, fn) {\n    (this.listeners[event] = this.listeners[event] || []).push(fn)\n"
    "    return this\n  }\n}\n",
    "const server = http.createServer((req, res) => {\n"
    "  res.writeHead(200, { 'Content-Type': 'application/json' })\n"
    "  res.end(JSON.stringify({ ok: true }))\n})\nserver.listen(port)\n",
    "'use strict'\n\nconst assert = require('assert')\n\n"
    "test('parses an empty object', (t) => {\n  t.plan(1)\n  t.same(parse('{}'), {})\n})\n",
    "export default function debounce (fn, wait) {\n  let timer\n"
    "  return function (...args) {\n    clearTimeout(timer)\n"
    "    timer = setTimeout(() => fn.apply(this, args), wait)\n  }\n}\n",
    "app.use((err, req, res, next) => {\n  console.error(err.stack)\n"
    "  res.status(500).json({ error: 'internal error' })\n})\n",
    "beforeEach(async () => {\n  await db.clear()\n})\n\nafterAll(async () => {\n"
    "  await db.close()\n})\n",
    "const { promisify } = require('util')\nconst sleep = promisify(setTimeout)\n\n"
    "async function retry (fn, times) {\n  for (let i = 0; i < times; i++) {\n"
    "    try {\n      return await fn()\n    } catch (err) {\n      await sleep(100 * i)\n"
    "    }\n  }\n  throw new Error('too many retries')\n}\n",
    "router.get('/users/:id', async (ctx) => {\n"
    "  const user = await User.findById(ctx.params.id)\n"
    "  if (!user) ctx.throw(404)\n  ctx.body = user\n})\n",
    "export interface User {\n  id: number\n  name: string\n  email?: string\n}\n\n"
    "export type Handler = (req: Request) => Promise<Response>\n",
    "for (const [key, value] of Object.entries(options)) {\n"
    "  if (value === undefined) {\n    delete options[key]\n  }\n}\n",
]

BOILERPLATE: dict[str, list[str]] = {PYTHON: PY, GO: GO_SNIPPETS, JS: JS_SNIPPETS}
