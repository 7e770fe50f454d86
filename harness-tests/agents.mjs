// The OpenAI Agents SDK, unchanged, against Carapace: an agent with one function tool runs "say hi" and a task that
// needs the tool, streamed and not, in the SDK's default mode (the Responses API) or, with `chat_completions` as the
// first argument, through Chat Completions. Prints one JSON object with what each run ended with.
//
// Environment: CARAPACE_URL (…/v1), CARAPACE_KEY, CARAPACE_MODEL. OPENAI_AGENTS_DISABLE_TRACING=1 keeps the SDK from
// exporting traces to OpenAI.
import { Agent, run, tool, setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled } from '@openai/agents';
import OpenAI from 'openai';
import { z } from 'zod';

const mode = process.argv[2] ?? 'responses';
setTracingDisabled(true);
setDefaultOpenAIClient(new OpenAI({ baseURL: process.env.CARAPACE_URL, apiKey: process.env.CARAPACE_KEY, maxRetries: 0 }));
if (mode === 'chat_completions') setOpenAIAPI('chat_completions');

const calls = [];
const weather = tool({
  name: 'get_weather',
  description: 'The weather now in a city.',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => {
    calls.push(city);
    return `sunny and 21C in ${city}`;
  },
});

const agent = new Agent({
  name: 'Assistant',
  instructions: 'You are brief. Use get_weather for weather questions.',
  model: process.env.CARAPACE_MODEL,
  tools: [weather],
});

async function once(input, stream) {
  if (!stream) {
    const result = await run(agent, input);
    return { output: result.finalOutput, usage: usageOf(result) };
  }
  const result = await run(agent, input, { stream: true });
  let text = '';
  for await (const event of result.toTextStream()) text += event;
  await result.completed;
  return { output: result.finalOutput, streamed: text, usage: usageOf(result) };
}

function usageOf(result) {
  const u = result.state?.usage ?? result.state?._context?.usage;
  return u ? { requests: u.requests, inputTokens: u.inputTokens, outputTokens: u.outputTokens } : null;
}

const out = { mode };
out.hi = await once('say hi', false);
out.weather = await once('What is the weather in Paris?', false);
out.hiStream = await once('say hi', true);
out.weatherStream = await once('What is the weather in Oslo?', true);
out.toolCalls = calls;
console.log(JSON.stringify(out));
