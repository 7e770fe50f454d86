// One turn of an OpenAI Agents SDK agent as a person scripts it, every client setting left at its default (the
// OpenAI client's own retries included): prints the agent's final output, or, when the run fails, "Error: " and the
// message the SDK reports, and exits 1. Used by BudgetRefusalHarnessTest to see what a refused person reads.
//
// Usage: node agents-turn.mjs <responses|chat_completions> <stream|no-stream> <prompt>
// Environment: CARAPACE_URL (…/v1), CARAPACE_KEY, CARAPACE_MODEL. OPENAI_AGENTS_DISABLE_TRACING=1 keeps the SDK from
// exporting traces to OpenAI.
import { Agent, run, setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled } from '@openai/agents';
import OpenAI from 'openai';

const [mode, streamed, prompt] = process.argv.slice(2);
setTracingDisabled(true);
setDefaultOpenAIClient(new OpenAI({ baseURL: process.env.CARAPACE_URL, apiKey: process.env.CARAPACE_KEY }));
setOpenAIAPI(mode);

const agent = new Agent({ name: 'Assistant', instructions: 'You are brief.', model: process.env.CARAPACE_MODEL });
try {
  if (streamed === 'stream') {
    const result = await run(agent, prompt, { stream: true });
    for await (const text of result.toTextStream()) process.stdout.write(text);
    await result.completed;
    process.stdout.write('\n');
  } else {
    console.log((await run(agent, prompt)).finalOutput);
  }
} catch (e) {
  console.error('Error: ' + e.message);
  process.exit(1);
}
