// Drives the official SDKs, unchanged, against Carapace. Prints one JSON object with what each call returned.
// Usage: CARAPACE_URL=http://127.0.0.1:PORT CARAPACE_KEY=cpk_... node check.mjs
import OpenAI, { toFile } from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const base = process.env.CARAPACE_URL;
const key = process.env.CARAPACE_KEY;
const openai = new OpenAI({ baseURL: base + '/v1', apiKey: key, maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 0 });
const out = {};
const tools = [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];

const completion = await openai.chat.completions.create({ model: 'm-solo', messages: [{ role: 'user', content: 'hi' }] });
out.openaiText = completion.choices[0].message.content;
out.openaiUsage = completion.usage.prompt_tokens;

let streamed = '', usage = null;
const stream = await openai.chat.completions.create({
  model: 'm-solo', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
for await (const chunk of stream) {
  if (chunk.choices[0]?.delta?.content) streamed += chunk.choices[0].delta.content;
  if (chunk.usage) usage = chunk.usage.completion_tokens;
}
out.openaiStream = streamed;
out.openaiStreamUsage = usage;

// Tool-call deltas reassembled by the SDK's own stream helper, from an Anthropic upstream.
const runner = openai.chat.completions.stream({ model: 'm-claude', messages: [{ role: 'user', content: 'weather?' }], tools });
const final = await runner.finalChatCompletion();
out.openaiToolName = final.choices[0].message.tool_calls[0].function.name;
out.openaiToolArgs = JSON.parse(final.choices[0].message.tool_calls[0].function.arguments);

const models = await openai.models.list();
out.openaiModels = models.data.map(m => m.id);

const message = await anthropic.messages.create({ model: 'm-solo', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
out.anthropicText = message.content[0].text;

const astream = anthropic.messages.stream({ model: 'm-solo', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
astream.on('streamEvent', (event) => {
  if (event.type === 'message_start') out.anthropicStreamStartInputTokens = event.message.usage.input_tokens;
});
const amessage = await astream.finalMessage();
out.anthropicStreamInputTokens = amessage.usage.input_tokens;
out.anthropicStream = amessage.content.map(b => b.text).join('');
out.anthropicStreamOutputTokens = amessage.usage.output_tokens;

try {
  await openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] });
} catch (e) {
  out.openaiErrorStatus = e.status;
  out.openaiErrorCode = e.code;
}
try {
  await anthropic.messages.create({ model: 'm-solo', messages: [{ role: 'user', content: 'hi' }] });
} catch (e) {
  out.anthropicErrorStatus = e.status;
  out.anthropicErrorType = e.error?.error?.type;
}
const embedding = await openai.embeddings.create({ model: 'm-embed', input: ['first', 'second'] });
out.embeddingModel = embedding.model;
out.embeddingCount = embedding.data.length;
out.embeddingFirst = Array.from(embedding.data[0].embedding);
out.embeddingUsage = embedding.usage.prompt_tokens;
try {
  await openai.embeddings.create({ model: 'm-mid', input: 'hi' });
} catch (e) {
  out.embeddingErrorStatus = e.status;
  out.embeddingErrorMessage = e.error?.message;
}

const counted = await anthropic.messages.countTokens({ model: 'm-claude', system: 'be brief',
  messages: [{ role: 'user', content: 'What is the weather in Oslo?' }] });
out.countTokensClaude = counted.input_tokens;
const local = await anthropic.messages.countTokens({ model: 'm-solo', messages: [{ role: 'user', content: 'What is the weather in Oslo?' }] });
out.countTokensLocal = local.input_tokens;
// audio: a WAV of one second of silence (8 kHz, 16-bit mono) sent as the SDK sends files (multipart/form-data)
const wav = Buffer.alloc(44 + 16000);
wav.write('RIFF', 0); wav.writeUInt32LE(36 + 16000, 4); wav.write('WAVEfmt ', 8); wav.writeUInt32LE(16, 16);
wav.writeUInt16LE(1, 20); wav.writeUInt16LE(1, 22); wav.writeUInt32LE(8000, 24); wav.writeUInt32LE(16000, 28);
wav.writeUInt16LE(2, 32); wav.writeUInt16LE(16, 34); wav.write('data', 36); wav.writeUInt32LE(16000, 40);
const transcript = await openai.audio.transcriptions.create({ model: 'm-whisper', language: 'en',
  file: await toFile(wav, 'note.wav', { type: 'audio/wav' }) });
out.transcriptText = transcript.text;
const speech = await openai.audio.speech.create({ model: 'm-tts', voice: 'alloy', input: 'hello from the sdk' });
out.speechType = speech.headers.get('content-type');
out.speechBytes = Buffer.from(await speech.arrayBuffer()).toString('hex');
try {
  await openai.audio.transcriptions.create({ model: 'm-whisper', response_format: 'xml',
    file: await toFile(wav, 'note.wav', { type: 'audio/wav' }) });
} catch (e) {
  out.transcriptionErrorStatus = e.status;
  out.transcriptionErrorParam = e.param;
}
console.log(JSON.stringify(out));
