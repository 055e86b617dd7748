/** Import of Sim YAML 1.0 written by hand from Sim's documented format, unsupported blocks included; export and round trip. */
import { describe, expect, it } from 'vitest';
import { WorkflowError } from '../../extensions/ai-sidecar/src/workflow/errors.js';
import { providerForModel } from '../../extensions/ai-sidecar/src/workflow/model-map.js';
import { exportWorkflow, importWorkflow } from '../../extensions/ai-sidecar/src/workflow/yaml.js';

const SIM_YAML = `version: '1.0'
blocks:
  start:
    type: starter
    name: Start
    inputs:
      startWorkflow: manual
    connections:
      success: classifier
  classifier:
    type: agent
    name: Ticket Classifier
    inputs:
      systemPrompt: Classify the support ticket.
      userPrompt: <start.input>
      model: gpt-4o
      temperature: 0.2
      apiKey: '{{OPENAI_API_KEY}}'
      responseFormat: '{"name":"ticket","schema":{"type":"object","properties":{"priority":{"type":"number"},"topic":{"type":"string"}},"required":["priority","topic"]},"strict":true}'
    connections:
      success: triage
      error: apology
  triage:
    type: condition
    name: Triage
    inputs:
      conditions:
        if: <ticketclassifier.priority> > 7
        else-if: <ticketclassifier.topic> === 'billing'
        else: true
    connections:
      conditions:
        if: urgent-writer
        else-if: billing-router
        else: lookup-api
  urgent-writer:
    type: agent
    name: Urgent Writer
    inputs:
      systemPrompt: 'You are on call. Token: {{PAGER_TOKEN}}'
      userPrompt: 'Urgent: <start.input>'
      model: claude-sonnet-4-20250514
      apiKey: '{{ANTHROPIC_API_KEY}}'
    connections:
      success: final
  billing-router:
    type: router
    name: Billing Router
    inputs:
      prompt: <start.input>
      model: llama3.2:3b
      apiKey: '{{OLLAMA_KEY}}'
    connections:
      success:
        - refunds
        - invoices
  refunds:
    type: agent
    name: Refunds
    inputs:
      userPrompt: Refund <start.input>
      model: gemini-2.5-pro
    connections:
      success: final
  invoices:
    type: agent
    name: Invoices
    inputs:
      userPrompt: Invoice <start.input>
      model: o3-mini
    connections:
      success: final
  lookup-api:
    type: api
    name: Customer Lookup
    inputs:
      url: https://api.example.com/customers
      method: GET
      headers:
        - key: Authorization
          value: Bearer {{CRM_TOKEN}}
    connections:
      success: summarise
  summarise:
    type: function
    name: Summarise
    inputs:
      code: return input.toUpperCase()
  retry-loop:
    type: loop
    name: Retry Loop
    inputs:
      loopType: for
      iterations: 3
  inside-loop:
    type: agent
    name: Loop Worker
    parentId: retry-loop
    inputs:
      userPrompt: <start.input>
      model: gpt-4o
  fanout:
    type: parallel
    name: Fan Out
    inputs:
      parallelType: count
      count: 2
  apology:
    type: agent
    name: Apology
    inputs:
      userPrompt: Sorry about <start.input>
      model: mistral-small-latest
    connections:
      success: final
  final:
    type: response
    name: Final
    inputs:
      dataMode: json
      data:
        reply: <urgentwriter.content>
        customer: <customerlookup.output>
`;

describe('Sim YAML import', () => {
  const { workflow, report } = importWorkflow(SIM_YAML);

  it('takes the blocks this app runs and lists the others by name and type', () => {
    expect(report.format).toBe('yaml');
    expect(report.taken.map((b) => `${b.name}:${b.type}`)).toEqual([
      'Start:starter',
      'Ticket Classifier:agent',
      'Triage:condition',
      'Urgent Writer:agent',
      'Billing Router:router',
      'Refunds:agent',
      'Invoices:agent',
      'Apology:agent',
      'Final:response',
    ]);
    expect(report.notTaken).toEqual([
      { id: 'lookup-api', name: 'Customer Lookup', type: 'api' },
      { id: 'summarise', name: 'Summarise', type: 'function' },
      { id: 'retry-loop', name: 'Retry Loop', type: 'loop' },
      { id: 'inside-loop', name: 'Loop Worker', type: 'agent (inside loop "Retry Loop")' },
      { id: 'fanout', name: 'Fan Out', type: 'parallel' },
    ]);
    // Connections to blocks not taken are dropped; the rest keep their kind and branch.
    expect(workflow.connections).toContainEqual({ source: 'classifier', target: 'apology', kind: 'error' });
    expect(workflow.connections).toContainEqual({ source: 'triage', target: 'billing-router', kind: 'branch', branch: 'else-if' });
    expect(workflow.connections.some((c) => c.target === 'lookup-api')).toBe(false);
    expect(workflow.connections.filter((c) => c.source === 'billing-router').map((c) => c.target)).toEqual(['refunds', 'invoices']);
  });

  it('maps each model to a provider and says so', () => {
    expect(report.models).toEqual([
      { blockId: 'classifier', model: 'gpt-4o', provider: 'openai' },
      { blockId: 'urgent-writer', model: 'claude-sonnet-4-20250514', provider: 'anthropic' },
      { blockId: 'billing-router', model: 'llama3.2:3b', provider: 'ollama' },
      { blockId: 'refunds', model: 'gemini-2.5-pro', provider: 'openrouter' },
      { blockId: 'invoices', model: 'o3-mini', provider: 'openai' },
      { blockId: 'apology', model: 'mistral-small-latest', provider: 'mistral' },
    ]);
    expect(providerForModel('stories260K.gguf')).toEqual({ provider: 'local', model: 'stories260K.gguf' });
    expect(providerForModel('Qwen2.5-7B')).toEqual({ provider: 'ollama', model: 'qwen2.5-7b' });
  });

  it('keeps no secret: apiKey and {{VAR}} fields are dropped and reported', () => {
    expect(report.ignored.map((i) => `${i.blockId}.${i.field}`)).toEqual(['classifier.apiKey', 'urgent-writer.systemPrompt', 'urgent-writer.apiKey', 'billing-router.apiKey']);
    const text = JSON.stringify(workflow);
    expect(text).not.toMatch(/\{\{|apiKey|PAGER_TOKEN|CRM_TOKEN/);
  });

  it('keeps the structured answer, the branches and the response, and reports what is left to fix', () => {
    const classifier = workflow.blocks.find((b) => b.id === 'classifier');
    expect(classifier?.type === 'agent' && classifier.inputs.responseFormat?.schema).toMatchObject({ properties: { priority: { type: 'number' } } });
    const triage = workflow.blocks.find((b) => b.id === 'triage');
    expect(triage?.type === 'condition' && triage.inputs.branches).toEqual([
      { id: 'if', kind: 'if', expression: '<ticketclassifier.priority> > 7' },
      { id: 'else-if', kind: 'else-if', expression: "<ticketclassifier.topic> === 'billing'" },
      { id: 'else', kind: 'else' },
    ]);
    const final = workflow.blocks.find((b) => b.id === 'final');
    expect(final?.type === 'response' && JSON.parse(final.inputs.data)).toEqual({ reply: '<urgentwriter.content>', customer: '<customerlookup.output>' });
    // The response still refers to the API block that was not taken: the workflow opens, and says what to fix.
    expect(report.problems).toEqual([
      { blockId: 'final', field: 'data', reference: '<customerlookup.output>', message: 'Block "Final", data: <customerlookup.output> names no block: there is no block called "customerlookup".' },
    ]);
    // Every block got a position so the canvas opens laid out.
    expect(workflow.blocks.every((b) => b.position !== undefined)).toBe(true);
  });

  it('refuses what is not a Sim 1.0 workflow, in plain words', () => {
    expect(() => importWorkflow("version: '2.0'\nblocks: {}")).toThrow(/only Sim's YAML version '1.0'/);
    expect(() => importWorkflow('just: text')).toThrow(/no "blocks:" section/);
    expect(() => importWorkflow('blocks: [unclosed')).toThrow(WorkflowError);
    expect(() => importWorkflow(`version: '1.0'\nblocks:\n  a:\n    type: agent\n    name: A\n    inputs:\n      userPrompt: x\n      model: gpt-4o\n      temperature: 9\n`)).toThrow(/block "A", inputs.temperature/);
  });

  it('a YAML alias bomb is refused, not expanded', () => {
    const bomb = `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nblocks: {}`;
    expect(() => importWorkflow(bomb)).toThrow(WorkflowError);
  });
});

describe('export', () => {
  const { workflow } = importWorkflow(SIM_YAML);

  it('writes Sim YAML 1.0 that imports back to the same workflow', () => {
    const yaml = exportWorkflow(workflow, 'yaml');
    expect(yaml).toMatch(/^version: '1.0'$/m);
    expect(yaml).toContain('conditions:');
    const again = importWorkflow(yaml);
    expect(again.workflow.blocks).toEqual(workflow.blocks);
    expect(again.workflow.connections).toEqual(workflow.connections);
    expect(again.report.models).toEqual([]); // providers are written out, so nothing is re-guessed
  });

  it('writes the app\'s JSON, which imports back exactly (without the id)', () => {
    const saved = { ...workflow, id: 'abc', variables: { tone: 'warm' } };
    const json = exportWorkflow(saved, 'json');
    const again = importWorkflow(json);
    expect(again.report.format).toBe('json');
    expect(again.workflow).toEqual({ ...saved, id: '' });
  });
});
