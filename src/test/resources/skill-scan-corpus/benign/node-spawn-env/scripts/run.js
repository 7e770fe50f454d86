const { spawn } = require("child_process");
const child = spawn("npm", ["test"], { env: { ...process.env, CI: "1" }, stdio: "inherit" });
child.on("exit", (code) => process.exit(code ?? 1));
