/** Conversation commands (issue 14): thin over the conversation service. */
import type { Handlers } from '../dispatcher.js';
import type { CONVERSATION_COMMANDS } from '../../protocol/contract.js';
import type { ConversationService } from '../../conversations/service.js';
import { ChannelError } from '../errors.js';

type ConversationHandlers = Pick<Handlers, keyof typeof CONVERSATION_COMMANDS>;

export function conversationHandlers(service: ConversationService | undefined, reason: string | null): ConversationHandlers {
  if (service === undefined) return unavailable(reason);
  return {
    list_conversations: ({ query, limit, offset }) => service.list(query, limit ?? 100, offset ?? 0),
    get_conversation: ({ id }) => service.get(id),
    create_conversation: (params) => service.create(params),
    update_conversation: (params) => service.update(params),
    delete_conversation: ({ id }) => (service.delete(id), { ok: true }),
    restore_conversation: ({ id }) => service.restore(id),
    send_message: ({ conversationId, content }) => service.send(conversationId, content),
    regenerate: ({ conversationId }) => service.regenerate(conversationId),
    edit_and_resend: ({ conversationId, messageId, content }) => service.editAndResend(conversationId, messageId, content),
    export_conversation: ({ id, format }) => service.export(id, format),
    import_conversation: ({ content }) => service.import(content),
    list_presets: () => service.listPresets(),
    save_preset: (params) => service.savePreset(params),
    delete_preset: ({ id }) => (service.deletePreset(id), { ok: true }),
    first_launch_status: () => service.firstLaunchStatus(),
  };
}

/** Without storage there are no conversations: every command says why. */
function unavailable(reason: string | null): ConversationHandlers {
  const fail = (): never => {
    throw new ChannelError('storage', `Conversations are unavailable: ${reason ?? 'no storage'}.`);
  };
  return {
    list_conversations: () => [],
    get_conversation: fail,
    create_conversation: fail,
    update_conversation: fail,
    delete_conversation: fail,
    restore_conversation: fail,
    send_message: fail,
    regenerate: fail,
    edit_and_resend: fail,
    export_conversation: fail,
    import_conversation: fail,
    list_presets: () => [],
    save_preset: fail,
    delete_preset: fail,
    first_launch_status: fail,
  };
}
